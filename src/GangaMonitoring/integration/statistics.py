"""The component's one boundary for introspection: its state as frozen, typed data.

:func:`monitoring_statistics` and :func:`job_statistics` (the component's
``statistics()`` and ``job_statistics()``) read the parts through their own
public statistics (the runner's queues, breakers, limits and recent counts,
the pools' workers, the index's counts, the polls' records, the split jobs'
progress) and return ``views/snapshot.py``'s data: ages, never clock readings.
``views/layout.py`` renders it, ``queues`` and the prompt's notice print it, the
status file stores it; none of them reads the component.  Ganga-free.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from ..core.breaker import CREDENTIAL_SUFFIX, BreakerSnapshot, credential_breaker
from ..core.trouble import Trouble
from ..core.work import Kind, Operation
from ..drivers.base import JobKey, fqid
from ..views.layout import explain_job
from ..views.snapshot import (FIRST_FEW, JOBS_SHOWN, RECENT_NAMES, BackendSnapshot, CadenceSnapshot, FailedJobs,
                              FileEventsSnapshot, JobReasons, JobStatistics, LimitSnapshot, MonitoringSnapshot,
                              PlannerSnapshot, PoolSnapshot, QueueGroup, TroubledJobs, WorkFor, WorkerSnapshot)


def monitoring_statistics(component: Any, jobs: bool = True, work: bool = True) -> MonitoringSnapshot:
    """What ``component`` is doing now.

    Without ``jobs``, split jobs' progress is left out (it reads their
    subjobs); without ``work``, so are the pools, the queues and the next
    polls (they walk every pending operation): what the prompt's notice,
    run after each command, needs is the rest.
    """
    now = component.clock.now()
    runner = component.runner
    stats = runner.statistics()
    pending = runner.pending() if work else []
    running = runner.running() if work else []
    progress, more_jobs = component.job_progress(JOBS_SHOWN) if jobs else ([], 0)
    pool_statistics = component.pools.statistics() if work else []
    waits = _ready_work_waits(runner, {p.name for p in pool_statistics if p.busy < p.workers})
    breakers = runner.breaker_statistics()
    settings = component.polling.planner_settings()
    return MonitoringSnapshot(
        enabled=bool(component.enabled),
        alive=bool(component.alive),
        pools=[PoolSnapshot(p.name, p.workers, p.busy,
                            [WorkerSnapshot(a.worker, a.description, now - a.since) for a in p.activities],
                            waits.get(p.name, []) if p.busy < p.workers else [])
               for p in pool_statistics],
        queued=_queue_groups(pending),
        running=[op.description or repr(op.key) for op in running],
        backends=_backends(component, pending + running, breakers, now),
        retrieval_backlog=sum(1 for op in pending if op.kind is Kind.RETRIEVE),
        finalisation_backlog=sum(1 for op in pending if op.kind is Kind.FINALISE),
        oldest_ready_age=stats.oldest_ready_age,
        completed=stats.completed,
        failed=stats.failed,
        limits=[LimitSnapshot(e.backend, e.pool, e.limit, e.adaptive, e.reason, e.raises, e.cuts)
                for e in runner.limit_statistics()],
        hung=[str(call) for call in runner.hung_calls()] if work else [],
        troubled=troubled_jobs(component.troubled.items(), now, float(component.failing_job_grace())),
        jobs=progress,
        more_jobs=more_jobs,
        breakers=breakers,
        planner=PlannerSnapshot(settings.long_queued_after, settings.queued_interval_factor,
                                settings.first_poll_delay),
        file_events=_file_events(component),
        cadence=_cadence(component),
    )


def _file_events(component: Any) -> FileEventsSnapshot | None:
    """The component's file events (a component stand-in without them: None)."""
    events = getattr(component, "file_events", None)
    return None if events is None else events.snapshot()


def _cadence(component: Any) -> list[CadenceSnapshot]:
    """The split jobs the adaptive cadence times the polls of (a component stand-in without it: none)."""
    cadence = getattr(component, "cadence", None)
    return [] if cadence is None else cadence.snapshot()


def troubled_jobs(troubles: Iterable[tuple[Any, Trouble]], now: float, grace: float) -> list[TroubledJobs]:
    """The jobs failing on their own (``TroubledJobs.items()``), one entry per top-level job, oldest first."""
    groups: dict[int, list[tuple[JobKey, Trouble]]] = {}
    for key, trouble in troubles:
        key = JobKey(*key) if not isinstance(key, JobKey) else key
        groups.setdefault(key.top, []).append((key, trouble))
    result = []
    for top, members in groups.items():
        first = min(trouble.since for _key, trouble in members)
        last = max(members, key=lambda member: member[1].since)[1]
        result.append(TroubledJobs(job_id=top, subjobs=sum(1 for key, _ in members if key.sub is not None),
                                   failing_for=now - first, marked_failed_in=max(0.0, first + grace - now),
                                   last_error=last.last_error))
    return sorted(result, key=lambda group: -group.failing_for)


def job_statistics(component: Any, job_id: int, keys: Iterable[JobKey] = ()) -> JobStatistics:
    """What ``component`` knows of top-level job ``job_id``, with the reasons of ``keys`` (its own and subjobs')."""
    now = component.clock.now()
    tracked = component.index.get(job_id)
    given_up = frozenset(key for key, _reason in dict(component.output_failures).values() if key.top == job_id)
    reasons = {}
    for key in {JobKey(job_id), *keys, *given_up}:
        failure = component.output_failures.get(fqid(key))
        trouble = component.troubled.get(key)
        found = JobReasons(ended=component.ended_reasons.get(fqid(key)),
                           given_up=failure[1] if failure is not None else None,
                           trouble=(trouble.failures, trouble.last_error) if trouble is not None else None)
        if found != JobReasons():
            reasons[key] = found

    def concerns(op: Operation) -> bool:
        return job_id in op.job_ids or (tracked is not None and op.kind is Kind.POLL
                                        and op.backend == tracked.backend and not op.job_ids)

    work = [WorkFor(op.description or str(op.key), op.kind.value, op.priority.name, reason)
            for op, reason in component.runner.explain(concerns)]
    record = component.polling.records.get(tracked.backend) if tracked is not None else None
    last = record.copy().last_started if record is not None else None
    return JobStatistics(job_id=job_id, status=tracked.status if tracked else None,
                         backend=tracked.backend if tracked else None,
                         for_seconds=now - tracked.since if tracked else None,
                         reasons=reasons, given_up=given_up, work=work,
                         last_poll_ago=now - last if last is not None else None)


def explain(component: Any, job_id: int, status: str | None = None, failed: FailedJobs | None = None) -> str:
    """:func:`views.layout.explain_job` of :func:`job_statistics`, with the reasons of the failed jobs named."""
    keys = list(failed.backend_says) if failed is not None else []
    return explain_job(job_statistics(component, job_id, keys), status, failed)


def _ready_work_waits(runner: Any, pools: set[str]) -> dict[str, list[str]]:
    """Why ready work of each of ``pools`` (those with idle workers) waits, most common first."""
    if not pools:
        return {}
    reasons: dict[str, Counter[str]] = {}
    for op, reason in runner.explain(lambda op: op.pool in pools and op.state.value == "ready"):
        if reason != "about to start":
            reasons.setdefault(op.pool, Counter())[reason] += 1
    return {pool: [f"{count} x {reason}" for reason, count in counts.most_common(FIRST_FEW)]
            for pool, counts in reasons.items()}


def _queue_groups(pending: list[Operation]) -> list[QueueGroup]:
    groups: dict[tuple[str, str], list[Operation]] = {}
    for op in pending:
        groups.setdefault((op.kind.value, op.priority.name), []).append(op)
    result = []
    for (kind, priority), ops in sorted(groups.items(), key=lambda item: (item[1][0].priority, item[0])):
        states = Counter(op.state.value for op in ops)
        ops.sort(key=lambda op: (op.due, op.seq))
        result.append(QueueGroup(kind, priority, states.get("ready", 0), states.get("waiting", 0),
                                 [op.description or repr(op.key) for op in ops[:FIRST_FEW]]))
    return result


def _backends(component: Any, work: list[Operation], breakers: list[BreakerSnapshot],
              now: float) -> list[BackendSnapshot]:
    index_counts = component.index.counts()
    counts = {c.backend: c.counts for c in index_counts}
    completing_since = {c.backend: c.oldest_since["completing"] for c in index_counts
                        if "completing" in c.oldest_since}
    settings = component.polling.planner_settings()
    records = {name: record.copy() for name, record in dict(component.polling.records).items()}
    recent = _recent_by_backend(component.runner.recent())
    service_errors = dict(component.last_service_error)
    by_name = {b.name: b for b in breakers}
    next_poll: dict[str, float] = {}
    for op in work:
        if op.kind is Kind.POLL and op.backend is not None and op.state.value in ("waiting", "ready"):
            next_poll[op.backend] = min(next_poll.get(op.backend, op.due), op.due)
    result = []
    named = (set(counts) | set(records) | set(recent)
             | {name for name in by_name if not name.endswith(CREDENTIAL_SUFFIX)})
    for backend in sorted(named):
        record = records.get(backend)
        due = next_poll.get(backend)
        credential = by_name.get(credential_breaker(backend))
        result.append(BackendSnapshot(
            backend=backend,
            jobs=dict(counts.get(backend, {})),
            polls=record.polls if record else 0,
            failures=record.failures if record else 0,
            consecutive_failures=record.consecutive_failures if record else 0,
            last_poll_ago=now - record.last_started if record and record.last_started is not None else None,
            last_poll_duration=record.last_duration if record else None,
            last_poll_jobs=record.last_jobs if record else 0,
            next_poll_in=max(0.0, due - now) if due is not None else None,
            last_error=record.last_error if record and record.consecutive_failures else None,
            unchecked_for=component.polling.planner.unchecked_for(component.index, backend, now,
                                                                  settings.long_queued_after),
            oldest_completing_age=now - completing_since[backend] if backend in completing_since else None,
            breaker=by_name.get(backend),
            credential=credential if credential is not None and credential.held else None,
            poll_interval=_interval(settings, backend),
            last_ok_poll_ago=now - record.last_ok_started if record and record.last_ok_started is not None else None,
            recent=recent.get(backend, {}),
            last_service_error=(f"{service_errors[backend][1][:120]} ({now - service_errors[backend][0]:.0f} s ago)"
                                if backend in service_errors else None),
        ))
    return result


def _interval(settings: Any, backend: str) -> float | None:
    try:
        return float(settings.interval_for(backend))
    except Exception:  # noqa: BLE001 - no Ganga config to read it from (a bare component): not shown
        return None


def _recent_by_backend(recent: dict[tuple[str, str, str], int]) -> dict[str, dict[str, dict[str, int]]]:
    found: dict[str, dict[str, dict[str, int]]] = {}
    shown = {what for what, _ in RECENT_NAMES} | {"request"}
    for (backend, what, outcome), count in recent.items():
        if what in shown and backend:  # "": the session's own work
            found.setdefault(backend, {}).setdefault(what, {})[outcome] = count
    return found
