"""The per-job view's rows (``job_table.JobRow``), from Ganga's job registry and what the component knows.

A row's REASON says what monitoring waits for, or why the job ended as it did.
It is read from the component's parts through their public statistics, in
one pass whatever the number of jobs: the pending and running operations
once (``runner.explain`` of all of them, indexed by job, :class:`WorkIndex`),
the breakers once, then a lookup per job.  Jobs are read without loading
them from disk: a job or subjob not loaded shows what Ganga's index cache
holds (id, name, status, backend), its backend id and run time blank.
"""

from __future__ import annotations

import datetime
import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from GangaCore.GPIDev.Base.Proxy import stripProxy

from .. import config
from ..core.breaker import LOCAL_DISK, BreakerSnapshot, credential_breaker
from ..core.work import JobKey, Kind, Operation, State
from .layout import failure_reasons
from .snapshot import JobReasons
from .job_table import JobRow, subjob_summary
from ..integration import registry

FINAL = frozenset({"completed", "failed", "killed", "removed"})
ACTIVE = frozenset({"submitted", "running"})


@dataclass
class WorkIndex:
    """The component's operations and breakers read once, indexed for per-job lookups."""

    now: float
    by_job: dict[JobKey, list[tuple[Operation, str]]] = field(default_factory=dict)
    """Retrievals and finalisations by their job (a subjob's own key); other work by its top-level job."""
    polls: dict[str, tuple[Operation, str]] = field(default_factory=dict)
    """backend -> its periodic poll that comes first (a running one before any pending)."""
    breakers: dict[str, BreakerSnapshot] = field(default_factory=dict)

    @classmethod
    def read(cls, component: Any) -> WorkIndex:
        index = cls(component.clock.now())
        for op, reason in component.runner.explain(lambda _op: True):
            index._add(op, reason)
        index.breakers = {b.name: b for b in component.runner.breaker_statistics()}
        return index

    def _add(self, op: Operation, reason: str) -> None:
        if op.kind in (Kind.RETRIEVE, Kind.FINALISE) and isinstance(op.key.subject, str):
            key = _parse_fqid(op.key.subject)
            if key is not None:
                self.by_job.setdefault(key, []).append((op, reason))
                return
        if op.kind is Kind.POLL and not op.job_ids and op.backend is not None and op.parent is None:
            known = self.polls.get(op.backend)
            if known is None or _poll_order(op) < _poll_order(known[0]):
                self.polls[op.backend] = (op, reason)
            return
        for job_id in list(op.job_ids):
            if isinstance(job_id, int):
                self.by_job.setdefault(JobKey(job_id), []).append((op, reason))


def _poll_order(op: Operation) -> tuple[int, float]:
    return (0 if op.state in (State.RUNNING, State.HUNG) else 1, op.due)


def _parse_fqid(text: str) -> JobKey | None:
    top, _, sub = text.partition(".")
    try:
        return JobKey(int(top), int(sub) if sub else None)
    except ValueError:
        return None


# -- reading jobs without loading them -------------------------------------------------


def _loaded(raw: Any) -> bool:
    return not getattr(raw, "_should_load", False)


def _cached(raw: Any) -> dict[str, Any]:
    cache = getattr(raw, "_index_cache", None)
    return cache if isinstance(cache, dict) else {}


def _backend_fields(backend: Any) -> tuple[str, int | None]:
    """(the backend's own id for its job, its exit code) where its schema has them; "" / None otherwise."""
    if backend is None:
        return "", None
    data = getattr(backend, "_data", {})
    schema = getattr(backend, "_schema", None)
    has = (lambda name: schema.hasAttribute(name)) if schema is not None else (lambda name: name in data)
    backend_id = data.get("id") if has("id") else None
    exitcode = data.get("exitcode") if has("exitcode") else None
    shown = "" if backend_id in (None, -1, "", []) else str(backend_id)
    return shown, exitcode if isinstance(exitcode, int) and not isinstance(exitcode, bool) else None


def run_time(raw: Any, status: str, now_utc: datetime.datetime) -> float | None:
    """Seconds from its start of running to its final state (or now); None when not started."""
    timestamps = getattr(raw._data.get("time"), "timestamps", None) if _loaded(raw) else None
    if not isinstance(timestamps, dict):
        return None
    start = timestamps.get("running") or timestamps.get("backend_running")
    if start is None:
        return None
    end = (timestamps.get("final") or timestamps.get("backend_final")) if status in FINAL else now_utc
    if end is None:
        return None
    return max(0.0, (end - start).total_seconds())


@dataclass(frozen=True)
class _Read:
    """What a row needs of one job, read without loading it."""

    key: JobKey
    name: str
    status: str
    backend_id: str = ""
    exitcode: int | None = None
    run_time: float | None = None


def _read_loaded(raw: Any, key: JobKey, now_utc: datetime.datetime) -> _Read:
    status = str(raw._data.get("status") or raw.status)
    backend_id, exitcode = _backend_fields(raw._data.get("backend"))
    return _Read(key, str(raw._data.get("name") or ""), status, backend_id, exitcode,
                 run_time(raw, status, now_utc))


def _read_top(raw: Any, now_utc: datetime.datetime) -> _Read:
    key = JobKey(int(raw.id))
    if _loaded(raw):
        return _read_loaded(raw, key, now_utc)
    cache = _cached(raw)
    return _Read(key, str(cache.get("name") or ""), str(raw.status))


def subjob_reads(master: Any, now_utc: datetime.datetime) -> Iterator[_Read]:
    """Each subjob of ``master`` as read: loaded ones from memory, the others from the subjob index cache."""
    subjobs = master.subjobs
    is_loaded = getattr(subjobs, "isLoaded", None)
    cached = getattr(subjobs, "getCachedData", None)
    for number in range(len(subjobs)):
        key = JobKey(master.id, number)
        if is_loaded is not None and cached is not None and not is_loaded(number):
            data = cached(number) or {}
            yield _Read(key, str(data.get("name") or ""), str(data.get("status") or "unknown"))
        else:
            yield _read_loaded(stripProxy(subjobs[number]), key, now_utc)


def subjob_counts(master: Any) -> Counter[str]:
    """How many of ``master``'s subjobs are in each state, read without loading any."""
    subjobs = master.subjobs
    is_loaded = getattr(subjobs, "isLoaded", None)
    cached = getattr(subjobs, "getCachedData", None)
    counts: Counter[str] = Counter()
    for number in range(len(subjobs)):
        if is_loaded is not None and cached is not None and not is_loaded(number):
            counts[str((cached(number) or {}).get("status") or "unknown")] += 1
        else:
            counts[str(stripProxy(subjobs[number]).status)] += 1
    return counts


# -- the reasons -------------------------------------------------------------------------


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


class Reasons:
    """The REASON of each job, from one :class:`WorkIndex` and the component's trouble records."""

    def __init__(self, component: Any, work: WorkIndex) -> None:
        self.component = component
        self.work = work
        self.grace = config.failing_job_grace()

    def of(self, read: _Read, backend: str) -> str:
        if read.status in FINAL:
            return self._ended(read)
        if read.status == "completing":
            return self._completing(read, backend)
        if read.status in ACTIVE:
            return self._active(read, backend)
        return ""

    def _ended(self, read: _Read) -> str:
        fqid = read.key.fqid
        failure = self.component.output_failures.get(fqid)
        reasons = JobReasons(ended=self.component.ended_reasons.get(fqid),
                             given_up=failure[1] if failure is not None else None)
        if read.status == "killed":
            return f"killed: {reasons.ended}" if reasons.ended else ""
        if read.status != "failed":
            return ""
        exit_code = f"exit code {read.exitcode}" if read.exitcode is not None else None
        found = failure_reasons(reasons, exit_code)
        return "failed: " + "; ".join(found) if found else ""

    def _completing(self, read: _Read, backend: str) -> str:
        held = self.component.pipeline.held_end(read.key)
        if held is not None:
            return f"ended {held}; held until its split job's submission returns (a {held} subjob fails it)"
        for op, reason in self.work.by_job.get(read.key, []):
            running = op.state in (State.RUNNING, State.HUNG)
            if op.kind is Kind.RETRIEVE:
                return "retrieving output" if running else f"waiting to retrieve output: {self._held(op, reason)}"
            if op.kind is Kind.FINALISE:
                return "finalising in a worker process" if running else f"waiting to finalise: {reason}"
        return self._poll(backend, "completing; ")

    def _held(self, op: Operation, reason: str) -> str:
        disk = self.work.breakers.get(LOCAL_DISK)
        if disk is not None and disk.state != "closed" and op.kind is Kind.RETRIEVE:
            return f"held: {disk.describe()}"
        return reason

    def _active(self, read: _Read, backend: str) -> str:
        trouble = self.component.troubled.get(read.key)
        if trouble is not None:
            failing = self.work.now - trouble.since
            left = max(0.0, self.grace - failing)
            return (f"updates failing for {_minutes(failing)}: {trouble.last_error}; "
                    f"marked failed in {_minutes(left)}")
        credential = self.work.breakers.get(credential_breaker(backend))
        if credential is not None and credential.held:
            return f"credential missing: {credential.last_error}"
        breaker = self.work.breakers.get(backend)
        if breaker is not None and breaker.state != "closed":
            return f"held: {backend} failing (breaker {breaker.describe()})"
        if read.key.sub is None:  # work names top-level jobs only: a master's is not each subjob's
            own = self._own_work(read.key)
            if own:
                return own
        return self._poll(backend, "")

    def _own_work(self, key: JobKey) -> str:
        for op, reason in self.work.by_job.get(key, []):
            if op.kind in (Kind.POLL, Kind.CALL) and op.key.what != "kill-resubmit":
                if op.state in (State.RUNNING, State.HUNG):
                    return "being updated now"
                if not reason.startswith("due in"):
                    return f"update waits: {reason}"
        return ""

    def _poll(self, backend: str, prefix: str) -> str:
        found = self.work.polls.get(backend)
        if found is None:
            return f"{prefix}no poll of {backend} planned at this instant"
        op, reason = found
        if op.state in (State.RUNNING, State.HUNG):
            return f"{prefix}polling {backend} now"
        if op.state is State.WAITING:
            return f"{prefix}next poll in {max(0.0, op.due - self.work.now):.0f} s"
        return f"{prefix}poll waits: {reason}" if reason != "about to start" else f"{prefix}poll about to start"


# -- the rows ------------------------------------------------------------------------------


def _backend_name(raw: Any) -> str:
    try:
        return registry.job_backend_name(raw) or ""
    except Exception:  # noqa: BLE001 - a job being built or removed: no backend to show
        return ""


def top_level_rows(component: Any, work: WorkIndex | None = None) -> list[JobRow]:
    """A row per top-level job of the component's registry, a master's REASON its subjobs' counts."""
    reasons = Reasons(component, work or WorkIndex.read(component))
    now_utc = datetime.datetime.utcnow()  # Ganga stamps states in naive UTC
    rows = []
    for _job_id, job in registry.iter_top_level_jobs(component.registry_slice):
        raw = stripProxy(job)
        try:
            read = _read_top(raw, now_utc)
            backend = _backend_name(raw)
            size = len(raw.subjobs) if _loaded(raw) else len(_cached(raw).get("subjobs:status") or ())
        except Exception:  # noqa: BLE001 - removed while we read
            continue
        if size:
            counts = subjob_counts(raw) if _loaded(raw) else Counter(_cached(raw).get("subjobs:status") or ())
            own = reasons.of(read, backend) if read.status in FINAL else ""
            reason = subjob_summary(dict(counts)) + (f"; {own}" if own else "")
        else:
            reason = reasons.of(read, backend)
        rows.append(JobRow(read.key.fqid, read.name, read.status, backend, read.backend_id, read.run_time,
                           reason, None, size))
    return rows


def subjob_rows(component: Any, master: Any, work: WorkIndex | None = None,
                limit: int | None = None) -> list[JobRow]:
    """A row per subjob of ``master`` (a raw top-level job); the first ``limit`` only when given."""
    reasons = Reasons(component, work or WorkIndex.read(component))
    backend = _backend_name(master)
    now_utc = datetime.datetime.utcnow()
    return [JobRow(read.key.fqid, read.name, read.status, backend, read.backend_id, read.run_time,
                   reasons.of(read, backend), master.id)
            for read in itertools.islice(subjob_reads(master, now_utc), limit)]


def status_file_rows(component: Any, limit: int) -> tuple[list[JobRow], bool]:
    """The rows the status file holds: every top-level job, then the subjobs of masters not final; at most
    ``limit`` (and whether rows were left out)."""
    work = WorkIndex.read(component)
    rows = top_level_rows(component, work)
    masters = [int(row.fqid) for row in rows if row.subjobs and row.status not in FINAL]
    for found in registry.resolve_jobs(component.registry_slice, masters):
        if len(rows) > limit:
            return rows[:limit], True
        rows.extend(subjob_rows(component, stripProxy(found), work, limit + 1 - len(rows)))
    return rows[:limit], len(rows) > limit

