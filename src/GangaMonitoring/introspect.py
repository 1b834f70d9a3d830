"""What monitoring is doing, as plain data (:class:`MonitoringSnapshot`, :class:`JobStatistics`) and as text.

The data is what the component's ``statistics()`` and ``job_statistics()``
return (built in ``compat/statistics.py`` from statistics each read under its
owner's lock, so from the prompt thread at any time).  This module only
renders it (:func:`render`, :func:`explain_job`, :func:`watch`); scripts and
tests use the data (``as_dict()`` gives plain JSON), and the ``queues``
display is rendered from it, never from live objects.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

from ._core.breaker import BreakerSnapshot
from ._core.recent import RecentCounts
from .drivers.base import JobKey, fqid

FIRST_FEW = 3
WHY_LINES = 8


@dataclass(frozen=True)
class WorkerSnapshot:
    """A busy worker; unlike ``pools.WorkerActivity`` it holds an age, not a clock reading
    (the component's clock has an arbitrary origin, meaningless outside the process)."""

    worker: str
    running: str
    for_seconds: float


@dataclass(frozen=True)
class PoolSnapshot:
    name: str
    workers: int
    busy: int
    activities: list[WorkerSnapshot]
    idle_because: list[str] = field(default_factory=list)
    """With idle workers and ready work for this pool: why that work waits ("3 x backend SimGrid at its
    limit (4 running on io)"), most common first."""


@dataclass(frozen=True)
class QueueGroup:
    """Pending operations of one kind and priority class."""

    kind: str
    priority: str
    ready: int
    waiting: int
    first: list[str]


@dataclass(frozen=True)
class BackendSnapshot:
    backend: str
    jobs: dict[str, int]
    """Tracked top-level jobs by state."""
    polls: int
    failures: int
    consecutive_failures: int
    last_poll_ago: float | None
    last_poll_duration: float | None
    last_poll_jobs: int
    next_poll_in: float | None
    last_error: str | None
    unchecked_for: float | None = None
    """Seconds since the least recently polled of its active jobs was looked at."""
    oldest_completing_age: float | None = None
    """Seconds the oldest job whose output is being retrieved or finalised has waited."""
    breaker: BreakerSnapshot | None = None
    """The backend's breaker (None: it never failed, so it has none: closed)."""
    credential: BreakerSnapshot | None = None
    """The breaker of the backend's credential while a check holds it: its polls and downloads wait."""
    poll_interval: float | None = None
    """Seconds between two polls of its running jobs (``[PollThread]``)."""
    last_ok_poll_ago: float | None = None
    """Seconds since the last poll that succeeded began (None: none has)."""
    recent: dict[str, dict[str, int]] = field(default_factory=dict)
    """Over the last ``RECENT_SPAN_S``: what ("poll", "update", "retrieve", "finalise", "request")
    -> outcome ("ok", "retried", "failed") -> count; "request" counts requests a client retried itself."""
    last_service_error: str | None = None
    """The last error a client of this backend retried on its own, and how long ago."""


@dataclass(frozen=True)
class LimitSnapshot:
    """How many operations of one backend may run at once in one pool, and why."""

    backend: str
    pool: str
    limit: int
    adaptive: bool
    reason: str
    """For an adaptive limit, its last change and the latency behind it; else "configured"."""
    raises: int = 0
    cuts: int = 0


@dataclass(frozen=True)
class JobProgress:
    """One active split job: its subjobs by state, and how fast they finish."""

    job_id: int
    backend: str
    subjobs: int
    states: dict[str, int]
    finished_recently: int
    """Subjobs that reached a final state over the last minutes (the component's ``PROGRESS_SPAN_S``, or
    since monitoring first looked at the job)."""
    rate_per_min: float
    eta_s: float | None
    """Seconds until every subjob is final (None: not known, or all final)."""
    eta_from_run_times: int = 0
    """How many subjobs' run times ``eta_s`` comes from (0: from the pace of the last minutes)."""


@dataclass(frozen=True)
class PlannerSnapshot:
    """The poll planner's settings, as they are now (read from the config at each plan)."""

    long_queued_after: float
    """Seconds after which a submitted job is polled as long-queued."""
    queued_interval_factor: float
    """Long-queued jobs are polled this many times less often."""
    first_poll_delay: float
    """Seconds after its submission before a new job's first poll."""


@dataclass(frozen=True)
class MonitoringSnapshot:
    """What monitoring is doing at one moment: the one thing ``queues``, the prompt's notice and the
    status file read (``MonitoringComponent.statistics()``).  Plain data: ages, never clock readings."""

    enabled: bool
    alive: bool
    pools: list[PoolSnapshot]
    queued: list[QueueGroup]
    running: list[str]
    backends: list[BackendSnapshot]
    retrieval_backlog: int
    finalisation_backlog: int
    oldest_ready_age: float
    """Seconds the longest-waiting due operation has waited: how far behind monitoring is."""
    completed: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    limits: list[LimitSnapshot] = field(default_factory=list)
    """Each backend's concurrency limit per pool (those that talked to their service)."""
    jobs: list[JobProgress] = field(default_factory=list)
    """The active split jobs, by id (the first ``JOBS_SHOWN``)."""
    more_jobs: int = 0
    """Active split jobs beyond those in ``jobs``."""
    breakers: list[BreakerSnapshot] = field(default_factory=list)
    """Every breaker: backends', the local disk's, credentials' (``BackendSnapshot`` has its backend's)."""
    planner: PlannerSnapshot | None = None
    hung: list[str] = field(default_factory=list)
    """Calls declared hung that have not returned, as sentences ("a call to X's update has hung for ...")."""
    troubled: list[TroubledJobs] = field(default_factory=list)
    """Jobs whose updates fail on their own while their backend answers, by top-level job."""
    file_events: FileEventsSnapshot | None = None
    cadence: list[CadenceSnapshot] = field(default_factory=list)
    """Split jobs whose backend's polls the adaptive cadence times (``compat/cadence_polls.py``), by id."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class FileEventsSnapshot:
    """Jobs whose status files are watched (``compat/file_events.py``), and why others are not."""

    watched: int
    ended: int
    """Jobs whose end a poll asked for by their status file's event saw (the newest 10,000 at most)."""
    not_watched: dict[str, int] = field(default_factory=dict)
    """Why active jobs are not watched (polled every interval instead) -> how many jobs."""


@dataclass(frozen=True)
class CadenceSnapshot:
    """A split job of a backend without file events: when its backend's next poll is due, and why."""

    job_id: int
    backend: str
    next_poll_in: float
    """Seconds until the backend's next periodic poll (negative: due, or running now)."""
    why: str
    """"a predicted end", "the interval", "nothing ended in 3 polls: backing off", "waiting for the poll budget"."""
    siblings_ended: int
    median_runtime: float | None
    """Seconds the finished subjobs ran (their median; the newest 50), None before the first."""
    running: int
    """Subjobs running whose start is known (those a prediction is made for)."""
    quiet_polls: int


def render_cadence(entry: CadenceSnapshot) -> str:
    """``"next poll of master 3 (Slurm) at +4.1 s (a predicted end): 12 sibling(s) ended, median runtime 21 s,
    5 running"``."""
    when = f"at +{entry.next_poll_in:.1f} s" if entry.next_poll_in > 0 else "due now"
    median = "" if entry.median_runtime is None else f", median runtime {entry.median_runtime:.0f} s"
    return (f"next poll of master {entry.job_id} ({entry.backend}) {when} ({entry.why}): "
            f"{entry.siblings_ended} sibling(s) ended{median}, {entry.running} running")


@dataclass(frozen=True)
class TroubledJobs:
    """A top-level job's jobs (itself, or some of its subjobs) whose updates keep failing on their own."""

    job_id: int
    subjobs: int
    """How many of its subjobs (0: the job itself, not split)."""
    failing_for: float
    """Seconds since the first of them began failing."""
    marked_failed_in: float
    """Seconds until the first of them is marked failed (``[Monitoring]failing_job_grace``)."""
    last_error: str


def render_troubled(group: TroubledJobs) -> str:
    """``"job 3: 18 subjobs failing their updates for 2.0 min while the backend answers (...); marked failed in
    8.0 min unless they succeed"``."""
    many = group.subjobs > 1
    who = (f"{group.subjobs} subjobs failing their updates" if many else
           "1 subjob failing its updates" if group.subjobs else "failing its updates")
    return (f"job {group.job_id}: {who} for {_duration(group.failing_for)} while the backend answers "
            f"({group.last_error}); marked failed in {_duration(group.marked_failed_in)} unless "
            f"{'they succeed' if many else 'it succeeds'}")


JOBS_SHOWN = 20
"""Split jobs whose progress ``queues`` lists (by id); the rest are counted."""
SURE_FROM = 10
"""Run times from which the time left of a split job is said without "rough"."""
STATE_ORDER = ("completed", "failed", "killed", "completing", "running", "submitted")


def render_progress(job: JobProgress, width: int | None = None) -> str:
    """"job 8 on SimGrid, 500 subjobs: 320 completed, 5 failed, 150 running, 25 submitted; 64/min, ~2.7 min left".

    Within ``width`` columns the backend, then the rate, then the subjob total go first, then the
    states are cut; the time left stays longest.
    """
    states = subjob_counts(job.states)
    left = None
    if job.finished_recently == 0:
        pace = "none finished lately"
    elif job.rate_per_min <= 0:
        pace = f"{job.finished_recently} finished just now"
    else:
        pace = f"{job.rate_per_min:.0f}/min" if job.rate_per_min >= 1 else f"{job.rate_per_min:.2f}/min"
    if job.eta_s is not None:
        samples = job.eta_from_run_times
        rough = f" (rough: {samples} run time{'' if samples == 1 else 's'})" if 0 < samples < SURE_FROM else ""
        left = f"~{_duration(job.eta_s)} left{rough}"
        pace += f", {left}"
    return fit(width,
               Part(f"job {job.job_id} on {job.backend}, {job.subjobs} subjobs: ",
                    (1, f"job {job.job_id}, {job.subjobs} subjobs: "), (3, f"job {job.job_id}: ")),
               Part(states, (4, CUT)),
               Part(f"; {pace}", (2, f"; {left or pace}"), (5, "")))


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


RECENT_SPAN_S: float = RecentCounts.span
"""The span of ``BackendSnapshot.recent`` (``Scheduler.recent`` is a default ``RecentCounts``)."""
RECENT_NAMES = (("poll", "polls"), ("update", "updates"), ("retrieve", "downloads"), ("finalise", "finalisations"))


def render_recent(recent: dict[str, dict[str, int]], last_service_error: str | None) -> str:
    """One backend's last minutes: "polls 30 (2 retried); downloads 300; 14 requests retried by its client"."""
    parts = []
    for what, name in RECENT_NAMES:
        outcomes = recent.get(what)
        if not outcomes:
            continue
        ended = outcomes.get("ok", 0) + outcomes.get("failed", 0)
        trouble = [f"{outcomes[o]} {o}" for o in ("retried", "failed") if outcomes.get(o)]
        parts.append(f"{name} {ended}" + (f" ({', '.join(trouble)})" if trouble else ""))
    retried = recent.get("request", {}).get("retried", 0)
    if retried:
        last = f"; last: {last_service_error}" if last_service_error else ""
        parts.append(f"{retried} request(s) retried by its client{last}")
    return f"last {RECENT_SPAN_S / 60:.0f} min: " + ("; ".join(parts) if parts else "nothing")


CUT = None
"""A :class:`Part`'s shorter form that is the part as it stands, cut to what fits."""
ELLIPSIS = "\u2026"
MIN_CUT = 4
"""A part is cut only if that keeps at least this many characters more than its next shorter form."""


class Part:
    """A piece of a display line, and the shorter forms it takes when the line is too wide.

    ``shorter``: (rank, form) pairs, in the order the part takes them, ranks
    rising; of all the line's parts the lowest rank gives way first.  A form
    is taken only if it is shorter than the part as it stands; ``""`` drops
    the part; :data:`CUT` cuts it to what fits, ending in an ellipsis (not if
    that keeps too little: then its next form is taken).
    """

    __slots__ = ("text", "shorter")

    def __init__(self, text: str, *shorter: tuple[int, str | None]) -> None:
        self.text = text
        self.shorter = shorter


def fit(width: int | None, *parts: Part) -> str:
    """The line ``parts`` make, within ``width`` columns (None: whole).

    Parts give way by rank (see :class:`Part`); if all did and the line is
    still too wide, its end is cut.
    """
    texts = [part.text for part in parts]
    if width is None:
        return "".join(texts)
    steps = sorted((rank, n, k) for n, part in enumerate(parts) for k, (rank, _form) in enumerate(part.shorter))
    for _rank, n, k in steps:
        over = sum(map(len, texts)) - width
        if over <= 0:
            break
        form = parts[n].shorter[k][1]
        if form is CUT:
            following = next((f for _r, f in parts[n].shorter[k + 1:] if f is not CUT), "")
            keep = len(texts[n]) - over - len(ELLIPSIS)
            if keep >= len(following) + MIN_CUT:
                texts[n] = texts[n][:keep] + ELLIPSIS
        elif len(form) < len(texts[n]):
            texts[n] = form
    return cut("".join(texts), width)


def cut(text: str, width: int | None) -> str:
    """``text`` within ``width`` columns: its end cut, ending in an ellipsis (None: whole)."""
    if width is None or len(text) <= width:
        return text
    return text[:max(0, width - len(ELLIPSIS))] + ELLIPSIS if width > 0 else ""


ACTIVITY_COLUMN = 60
"""The widest a busy worker's description is shown."""


def render(snapshot: MonitoringSnapshot, width: int | None = None) -> str:
    """The snapshot as the text ``queues`` shows; every line within ``width`` columns (None: whole lines).

    What gives way first in a narrow display: in a backend's line the next
    poll, then the last poll, then the health's detail, then the job counts
    by state; never the health word (ok, FAILING, DOWN, HELD) that follows
    the backend's name.  Lines that list in order of importance are cut at
    their end.
    """
    state = "enabled" if snapshot.enabled else ("disabled" if snapshot.alive else "stopped")
    waited, retrieving, finalising = (snapshot.oldest_ready_age, snapshot.retrieval_backlog,
                                      snapshot.finalisation_backlog)
    lines = [fit(width, Part(f"GangaMonitoring: {state}"),
                 Part(f"; oldest due work has waited {waited:.1f} s", (2, f"; due work waited {waited:.1f} s")),
                 Part(f"; retrieval backlog {retrieving}, finalisation backlog {finalising}",
                      (1, f"; to retrieve {retrieving}, to finalise {finalising}"), (3, ""))),
             "", "Pools:"]
    # a busy worker's line: 4 + 22 + 1 columns, its description, then 9 for the time it has run
    column = ACTIVITY_COLUMN if width is None else max(0, min(ACTIVITY_COLUMN, width - 36))
    for pool in snapshot.pools:
        lines.append(fit(width, Part(f"  {pool.name:<10} {pool.busy}/{pool.workers} busy"),
                         Part(f"; ready work waits: {'; '.join(pool.idle_because)}" if pool.idle_because else "",
                              (1, CUT), (2, "; ready work waits"))))
        lines.extend(cut(f"    {a.worker:<22} {cut(a.running, column):<{column}} {a.for_seconds:6.1f} s", width)
                     for a in pool.activities)
    if snapshot.hung:
        lines += ["", "Hung calls (their jobs go to the next poll; a late return is ignored):"]
        lines.extend(cut(f"  {call}", width) for call in snapshot.hung)
    lines += ["", "Backends:"]
    if not snapshot.backends:
        lines.append("  (no job to monitor)")
    for b in snapshot.backends:
        lines.append(_backend_line(b, width))
        lags = []
        if b.consecutive_failures or _down(b) or b.credential is not None:
            # polls fail or wait: saying when jobs were "looked at" would hide that nothing was learnt
            ok = "never" if b.last_ok_poll_ago is None else f"{b.last_ok_poll_ago:.1f} s ago"
            lags.append(f"last successful poll {ok}")
        elif b.unchecked_for is not None:
            lags.append(f"every active job looked at within {b.unchecked_for:.1f} s")
        if b.oldest_completing_age is not None:
            lags.append(f"oldest output waiting {b.oldest_completing_age:.1f} s")
        if lags:
            lines.append(cut(f"  {'':<14} " + "; ".join(lags), width))
        lines.append(cut(f"  {'':<14} " + render_recent(b.recent, b.last_service_error), width))
        for limit in (entry for entry in snapshot.limits if entry.backend == b.backend):
            how = (f"adaptive, {limit.raises} up / {limit.cuts} down; {limit.reason}" if limit.adaptive
                   else "configured: [Monitoring]backend_concurrency")
            lines.append(cut(f"  {'':<14} {limit.pool} limit {limit.limit} ({how})", width))
    events = snapshot.file_events
    if events is not None and (events.watched or events.ended or events.not_watched):
        lines.append(cut(f"  file events: {events.watched} job(s) watched, {events.ended} end(s) seen from their "
                         f"status file", width))
        lines.extend(cut(f"  {'':<14} not watched ({count}, polled every interval): {why}", width)
                     for why, count in events.not_watched.items())
    if snapshot.cadence:
        lines.append(cut("  adaptive cadence ([Monitoring]poll_cadence; no file events for these jobs):", width))
        lines.extend(cut(f"  {'':<14} {render_cadence(entry)}", width) for entry in snapshot.cadence[:FIRST_FEW])
        if len(snapshot.cadence) > FIRST_FEW:
            lines.append(f"  {'':<14} ... and {len(snapshot.cadence) - FIRST_FEW} more")
    if snapshot.troubled:
        lines += ["", "Jobs in trouble (theirs, not their backend's):"]
        lines.extend(cut(f"  {render_troubled(group)}", width) for group in snapshot.troubled[:FIRST_FEW])
        if len(snapshot.troubled) > FIRST_FEW:
            lines.append(f"  ... and {len(snapshot.troubled) - FIRST_FEW} more")
    if snapshot.jobs:
        lines += ["", "Split jobs:"]
        lines.extend(f"  {render_progress(job, None if width is None else width - 2)}" for job in snapshot.jobs)
        if snapshot.more_jobs:
            lines.append(f"  ... and {snapshot.more_jobs} more")
    lines += ["", "Queued:"]
    if not snapshot.queued:
        lines.append("  (nothing)")
    for group in snapshot.queued:
        lines.append(fit(width, Part(f"  {group.kind:<9} {group.priority:<9} ready {group.ready:<6} "
                                     f"waiting {group.waiting:<6} "),
                         Part(f"first: {'; '.join(group.first)}", (1, CUT), (2, ""))))
    if snapshot.running:
        lines += ["", cut(f"Running ({len(snapshot.running)}): " + "; ".join(snapshot.running[:FIRST_FEW]), width)]
    return "\n".join(lines)


def _down(b: BackendSnapshot) -> bool:
    return b.breaker is not None and b.breaker.state != "closed"


def _backend_line(b: BackendSnapshot, width: int | None) -> str:
    """A backend's line: its name, health, jobs, last and next poll (see :func:`render` for what gives way)."""
    total = sum(b.jobs.values())
    # jobs as Ganga's jobs table counts them: a split job is one (its subjobs are under "Split jobs")
    jobs = f"{total} job{'' if total == 1 else 's'}: " + ", ".join(f"{n} {s}" for s, n in sorted(b.jobs.items())) \
        if total else "no active job"
    outcome = "failed after" if b.consecutive_failures else "took"
    polled = f"{b.last_poll_jobs} job{'' if b.last_poll_jobs == 1 else 's'}"
    last = "never" if b.last_poll_ago is None else f"{b.last_poll_ago:.1f} s ago"
    detail = "" if b.last_poll_ago is None else f" ({polled}; it {outcome} {b.last_poll_duration or 0:.2f} s)"
    upcoming = "-" if b.next_poll_in is None else f"in {b.next_poll_in:.1f} s"
    troubles = [(f"HELD: {b.credential.last_error}", "HELD") if b.credential is not None else None,
                (f"DOWN (breaker {b.breaker.describe()})", "DOWN") if b.breaker is not None and _down(b) else None,
                (f"FAILING x{b.consecutive_failures}: {b.last_error}", f"FAILING x{b.consecutive_failures}")
                if b.consecutive_failures else None]
    health = [trouble for trouble in troubles if trouble is not None] or [("ok", "ok")]
    return fit(width, Part(f"  {b.backend:<14} "),
               Part("; ".join(full for full, _word in health), (4, CUT), (5, ", ".join(w for _full, w in health))),
               Part(f"; {jobs}", (6, f"; {total} job{'' if total == 1 else 's'}")),
               Part(f"; last poll {last}{detail}", (2, f"; last poll {last}"), (3, "")),
               Part(f"; next {upcoming}", (1, "")))


"""(top-level job id, subjob id or None)."""
NO_REASON = "no reason known to monitoring"


@dataclass(frozen=True)
class FailedJobs:
    """The failed among a job and its subjobs, as its caller read them from Ganga (this module reads no job)."""

    backend_says: dict[JobKey, str | None] = field(default_factory=dict)
    """The job itself if it failed, else its first failed subjobs; each with its backend's own reason for
    it (None: the backend records none this package can read)."""
    count: int = 0
    """Failed subjobs in all, those not in ``backend_says`` too."""
    subjobs: int = 0
    """The job's subjobs (0: it is not split)."""
    states: dict[str, int] = field(default_factory=dict)
    """The job's subjobs by status, as read (empty: it is not split)."""


@dataclass(frozen=True)
class JobReasons:
    """What monitoring knows of one job's (or subjob's) trouble."""

    ended: str | None = None
    """How a driver found it ended outside its backend's own update (a process gone, the batch system's word)."""
    given_up: str | None = None
    """What monitoring gave up for it (its output, or its updates); ``queues.retry(j)`` tries again."""
    trouble: tuple[int, str] | None = None
    """Its updates' failures in a row and the last error, while they keep failing."""


@dataclass(frozen=True)
class WorkFor:
    """One pending or running operation that concerns a job, and why it is where it is."""

    description: str
    kind: str
    priority: str
    reason: str


@dataclass(frozen=True)
class JobStatistics:
    """What monitoring knows of one top-level job: the data ``queues.why`` renders (:func:`explain_job`)."""

    job_id: int
    status: str | None = None
    """Its state in the active-job index (None: not tracked)."""
    backend: str | None = None
    for_seconds: float | None = None
    """Seconds in that state."""
    reasons: dict[JobKey, JobReasons] = field(default_factory=dict)
    """For the keys asked about and every key of the job monitoring gave up for."""
    given_up: frozenset[JobKey] = frozenset()
    """Keys of the job (itself, its subjobs) whose output or updates monitoring gave up."""
    work: list[WorkFor] = field(default_factory=list)
    """Operations that concern it, running first."""
    last_poll_ago: float | None = None
    """Seconds since its backend's last poll started (None: never polled)."""


def failure_reasons(reasons: JobReasons | None, backend_says: str | None = None) -> list[str]:
    """Why a job failed, as far as monitoring knows, most telling first.

    How a driver found it ended, what monitoring gave up for it (with how to
    try again), the last error of its updates, and ``backend_says``, its
    backend's own reason.  Empty when none is known.
    """
    found = []
    if reasons is not None and reasons.ended is not None:
        found.append(reasons.ended)
    if reasons is not None and reasons.given_up is not None:
        found.append(f"{reasons.given_up} (queues.retry(j) tries again)")
    if reasons is not None and reasons.trouble is not None:
        found.append(f"its updates failed {reasons.trouble[0]} time(s) in a row, the last: {reasons.trouble[1]}")
    if backend_says:
        found.append(backend_says)
    return found


def trouble_lines(reasons: JobReasons | None, status: str | None, backend_says: str | None = None) -> list[str]:
    """One job's own trouble: why it failed or was killed outside Ganga, else whether its updates keep failing."""
    if status == "killed":
        return [f"  it was killed: {reasons.ended}"] if reasons is not None and reasons.ended else []
    if status == "failed":
        return [f"  it failed: {'; '.join(failure_reasons(reasons, backend_says)) or NO_REASON}"]
    if reasons is None or reasons.trouble is None:
        return []
    return [f"  its updates failed {reasons.trouble[0]} time(s) in a row, the last: {reasons.trouble[1]}"]


def _failed_subjob_lines(stats: JobStatistics, failed: FailedJobs | None) -> list[str]:
    """A job's failed subjobs, those monitoring failed first, each with why (the first ``WHY_LINES``)."""
    found = {key: says for key, says in (failed.backend_says if failed else {}).items() if key.sub is not None}
    given_up = {key for key in stats.given_up if key.sub is not None}
    found.update((key, found.get(key)) for key in given_up)
    if not found:
        return []
    count = max(failed.count if failed else 0, len(found))
    of = f" of its {failed.subjobs}" if failed and failed.subjobs else ""
    lines = [f"  {count}{of} subjob{'' if count == 1 and not of else 's'} failed:"]
    reasons = {key: failure_reasons(stats.reasons.get(key), says) for key, says in found.items()}
    ordered = sorted(found, key=lambda key: (key not in given_up, key.sub))
    lines.extend(f"    {fqid(key)}: {'; '.join(reasons[key]) or NO_REASON}" for key in ordered[:WHY_LINES])
    if count > min(len(ordered), WHY_LINES):
        lines.append(f"    ... and {count - min(len(ordered), WHY_LINES)} more")
    return lines


def subjob_counts(states: dict[str, int]) -> str:
    """``"320 completed, 5 failed, 150 running, 25 submitted"``: the counts in STATE_ORDER, others after."""
    ordered = [s for s in STATE_ORDER if states.get(s)] + sorted(set(states) - set(STATE_ORDER))
    return ", ".join(f"{states[s]} {s}" for s in ordered)


def explain_job(stats: JobStatistics, status: str | None = None, failed: FailedJobs | None = None) -> str:
    """Why a job is (or is not) being worked on: its tracked state, its trouble, its pending work.

    ``status``: the job's own status, said when monitoring does not track it.
    ``failed``: the failed among the job and its subjobs, as the caller read
    them; without it, only those monitoring itself failed are said to be.
    """
    job_id = stats.job_id
    lines = []
    counts = f" ({failed.subjobs} subjobs: {subjob_counts(failed.states)})" if failed is not None and failed.states \
        else ""
    if stats.status is None:
        state = f"is {status}{counts}: it " if status else ""
        lines.append(f"job {job_id} {state}is not being monitored (only submitted, running and completing "
                     "jobs are)")
    elif status is not None and status != stats.status:
        # Ganga's word for the job, as j.status and the jobs table say it (a master is 'submitted' while
        # some of its subjobs run; monitoring tracks it by what its subjobs need)
        lines.append(f"job {job_id} is {status}{counts} on {stats.backend}")
    else:
        since = stats.for_seconds or 0.0
        lines.append(f"job {job_id} is {stats.status}{counts} on {stats.backend} since {since:.1f} s")
    itself = JobKey(job_id)
    says = failed.backend_says if failed else {}
    split = failed is not None and failed.subjobs > 0  # a master fails for its subjobs, said below
    failed_itself = itself in says or itself in stats.given_up or (status == "failed" and not split)
    lines.extend(trouble_lines(stats.reasons.get(itself),
                               "failed" if failed_itself else status if status == "killed" else None,
                               says.get(itself)))
    lines.extend(_failed_subjob_lines(stats, failed))
    for work in stats.work[:WHY_LINES]:
        lines.append(f"  {work.description} [{work.priority}]: {work.reason}")
    if stats.status in ("submitted", "running") and not any(work.kind == "poll" for work in stats.work):
        lines.append(between_polls(stats.backend or "?", stats.last_poll_ago))
    if len(stats.work) > WHY_LINES:
        lines.append(f"  ... and {len(stats.work) - WHY_LINES} more operation(s) for it")
    return "\n".join(lines)


def between_polls(backend: str, last_poll_ago: float | None) -> str:
    """The line for an active job whose backend has no poll planned at this instant.

    That happens in the moment between a poll's end and the dispatcher's
    next pass, which plans the next one; a user asking then should still
    learn when the backend was last looked at.
    """
    last = "never polled yet" if last_poll_ago is None else f"the last started {last_poll_ago:.1f} s ago"
    return f"  poll {backend}: between two polls ({last}); the next is planned on the dispatcher's next pass"


def watch(statistics: Callable[[], MonitoringSnapshot], interval: float, count: int | None, stream: Any,
          sleep: Any = None, width: int | None = None, retry: Callable[[], list[str]] | None = None) -> int:
    """Show the snapshot every ``interval`` s until Ctrl-C (or ``count`` frames); returns frames shown.

    On a capable terminal with no ``count`` it is a full-screen prompt_toolkit
    display (:func:`watch_live`).  Otherwise frames are written to ``stream``:
    in place on a terminal (cursor home, clear below), else separated by a
    blank line, which suits logs and scripts.  Each line fits in ``width``
    columns; None: the terminal's width, read for each frame, when ``stream``
    is a terminal, else lines are whole.
    """
    import os
    import time

    in_place = bool(getattr(stream, "isatty", lambda: False)())
    if in_place and count is None and sleep is None and os.environ.get("TERM", "dumb") != "dumb":
        return watch_live(statistics, interval, width, retry)
    pause = sleep or time.sleep
    shown = 0
    try:
        while count is None or shown < count:
            frame = render(statistics(), width if width is not None else terminal_width(stream))
            stream.write(("\x1b[H\x1b[J" if in_place else ("\n" if shown else "")) + frame + "\n")
            stream.flush()
            shown += 1
            if count is None or shown < count:
                pause(interval)
    except KeyboardInterrupt:
        stream.write("\n")
    return shown


def terminal_width(stream: Any) -> int | None:
    """The columns of the terminal ``stream`` writes to; None if it is not a terminal."""
    import os

    try:
        return os.get_terminal_size(stream.fileno()).columns if stream.isatty() else None
    except (AttributeError, OSError, ValueError):
        return None


LIVE_FOOTER = "(q, Esc or Ctrl-C: back to the prompt; ?: help)"
LIVE_HELP = """Keys:
  q Q Esc Ctrl-C   back to the prompt
  ?                this help (again: hide it)
  r                retry the output of every job that failed for want of it
                   (queues.retry())

Backends: each line starts with its health (ok, FAILING, DOWN, HELD), then
its tracked jobs; below it, how far behind it is and its last 5 minutes.
Split jobs: subjobs by state, pace, time left.  Queued: waiting work by kind
and priority ("ready" is due and waits for a worker).  In a narrow terminal
the least telling parts of a line give way first, never the health word."""


def watch_live(statistics: Callable[[], MonitoringSnapshot], interval: float, width: int | None = None,
               retry: Callable[[], list[str]] | None = None) -> int:
    """Full-screen display refreshed every ``interval`` s until q, Esc or Ctrl-C; returns frames drawn.

    It runs in its own thread and event loop (``in_thread``), so it works at
    IPython's prompt, whose own application is idle while a command runs.
    Other threads may still write log lines to the terminal underneath it;
    each refresh clears and repaints the whole screen, so such a line lasts
    one interval at most instead of corrupting the display.  Lines fit in
    ``width`` columns, by default the terminal's, read at each repaint
    (:func:`render`: the least telling parts give way first, never a
    backend's health).
    """
    import asyncio
    import time

    from prompt_toolkit.application import Application
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.layout import Layout
    from prompt_toolkit.layout.containers import Window
    from prompt_toolkit.layout.controls import FormattedTextControl

    frames = 0
    showing_help = False
    message = ""

    def frame() -> str:
        nonlocal frames
        frames += 1
        terminal = app.output.get_size().columns
        columns = min(width, terminal) if width else terminal
        header = f"GangaMonitoring watch, {time.strftime('%H:%M:%S')} (every {interval:g} s)"
        body = LIVE_HELP if showing_help else render(statistics(), columns)
        text = "\n".join([header, *([message] if message else []), "", body, "", LIVE_FOOTER])
        return "\n".join(cut(line, columns) for line in text.split("\n"))

    keys = KeyBindings()

    @keys.add("q")
    @keys.add("Q")
    @keys.add("escape", eager=True)
    @keys.add("c-c")
    def _leave(event: Any) -> None:
        event.app.exit()

    @keys.add("?")
    def _help(event: Any) -> None:
        nonlocal showing_help
        showing_help = not showing_help
        event.app.invalidate()

    @keys.add("r")
    def _retry(event: Any) -> None:
        nonlocal message
        try:
            retried = retry() if retry is not None else []
            message = f"retrying the output of {len(retried)} job(s)" + (
                f": {', '.join(retried[:10])}" if retried else " (none failed for want of it)")
        except Exception as err:  # noqa: BLE001 - a key must never end the display: say what went wrong
            message = f"retry failed: {type(err).__name__}: {err}"
        event.app.invalidate()

    app: Application[None] = Application(layout=Layout(Window(FormattedTextControl(frame), wrap_lines=False)),
                                         key_bindings=keys, full_screen=True)

    async def repaint() -> None:
        while True:
            await asyncio.sleep(interval)
            app.renderer.clear()
            app.invalidate()

    def start_repainting() -> None:
        app.create_background_task(repaint())

    app.run(in_thread=True, pre_run=start_repainting)
    return frames
