"""What monitoring is doing, as plain data: :class:`MonitoringSnapshot` and :class:`JobStatistics`.

The contract: frozen dataclasses of plain values (ages in seconds, never clock
readings: the component's clock has an arbitrary origin), built by
``integration/statistics.py`` from statistics each read under its owner's
lock, so from the prompt thread at any time; ``as_dict()`` gives plain JSON
for scripts and tests.  The constants here bound what the data holds (how
many of a kind are named).  Nothing here renders: ``views/layout.py`` lays
the data out as text, ``views/watch_app.py`` shows it live; the ``queues``
display is rendered from this data, never from live objects.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..core.breaker import BreakerSnapshot
from ..core.recent import RecentCounts
from ..drivers.base import JobKey

FIRST_FEW = 3
WHY_LINES = 8

JOBS_SHOWN = 20
"""Split jobs whose progress ``queues`` lists (by id); the rest are counted."""

RECENT_SPAN_S: float = RecentCounts.span
"""The span of ``BackendSnapshot.recent`` (``Scheduler.recent`` is a default ``RecentCounts``)."""
RECENT_NAMES = (("poll", "polls"), ("update", "updates"), ("retrieve", "downloads"), ("finalise", "finalisations"))


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
    """Split jobs whose backend's polls the adaptive cadence times (``integration/cadence_polls.py``), by id."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class FileEventsSnapshot:
    """Jobs whose status files are watched (``integration/file_events.py``), and why others are not."""

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
