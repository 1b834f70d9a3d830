"""The poll planner: turns the active-job index into periodic poll operations.

For each backend with jobs to poll it keeps at most two poll operations
planned: ``("poll", backend)`` for running and recently submitted jobs at
the backend's poll interval, and ``("poll-queued", backend)`` for jobs
queued longer than ``long_queued_after``, at a lower priority class and a
longer interval.  The next poll of a key is due one interval after the
previous one *started*, so a poll that takes long is not followed by a gap.
A newly submitted job pulls its group's next poll forward to
``first_poll_delay`` after its submission, so a user sees it start promptly
even when the backend's interval is long (stock Ganga looked at a newly
active backend within its 2 s scan).  For a backend whose every poll costs
a look at all its jobs (``new_jobs_apart``: a backend without a native
driver, whose update asks for and may download every job it is given), the
new jobs get a poll of their own instead, ``("poll-new", backend)``: jobs
submitted one after another would otherwise pull a poll of the whole
backend forward again and again.  A split job whose submission just ended
(:meth:`PollPlanner.submission_ended`; polls leave a job alone while Ganga
submits it) pulls its backend's next poll forward the same way, for a
backend with a native driver (its poll is one query): the subjobs may have
run and ended during a long submission, and none of them changes the
master's state when the submission ends.  ``PlannerSettings.periodic_due``
may time a backend's ``poll`` otherwise than one interval after the last
(the adaptive cadence of a backend without file events,
``integration/cadence_polls.py``); the pulls forward above apply all the same.

Pure: it reads the index, the scheduler, ``now`` and the submission ends it
was told of; it returns operations to submit and backends that went idle
(whose monitoring can be torn down).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from .index import ActiveJobIndex
from .scheduler import Scheduler
from .work import Kind, Operation, OpKey, PriorityClass, State

ActionFactory = Callable[[str, str], Callable[[Operation], Any]]
PeriodicDue = Callable[[str, float, float, float], float]
"""``(backend, now, last_started, interval)`` -> when the backend's next ``poll`` is due."""

POLL = "poll"
POLL_QUEUED = "poll-queued"
POLL_NEW = "poll-new"


@dataclass(frozen=True)
class PlannerSettings:
    """Read from config at every plan, so a changed option applies at once."""

    interval_for: Callable[[str], float]
    long_queued_after: float = 600.0
    queued_interval_factor: float = 4.0
    first_poll_delay: float = 2.0
    new_jobs_apart: Callable[[str], bool] = lambda _backend: False
    """Does ``backend`` poll newly submitted jobs in a poll of their own (see the module)?"""
    periodic_due: PeriodicDue = lambda _backend, _now, last_started, interval: last_started + interval
    """When a backend's next ``poll`` is due after its last began (an adaptive cadence's, see the module)."""


@dataclass
class PlanResult:
    operations: list[Operation] = field(default_factory=list)
    idle_backends: list[str] = field(default_factory=list)


class PollPlanner:
    """Keeps one poll operation planned per (group, backend) that has jobs."""

    def __init__(self, settings: Callable[[], PlannerSettings], make_action: ActionFactory) -> None:
        self._settings = settings
        self._make_action = make_action
        self._last: dict[OpKey, Operation] = {}
        self._last_started: dict[OpKey, float] = {}
        self._active_backends: set[str] = set()
        self._submission_ended: dict[str, float] = {}
        """backend -> when a submission of one of its jobs last ended (written from any thread: one
        assignment of a whole value)."""

    def submission_ended(self, backend: str, now: float) -> None:
        """A job of ``backend`` was submitted (its ``submit()`` returned) at ``now``: look soon."""
        self._submission_ended[backend] = now

    def plan(self, index: ActiveJobIndex, scheduler: Scheduler, now: float) -> PlanResult:
        settings = self._settings()
        result = PlanResult()
        active_now = set(index.backends())
        for backend in active_now:
            for group in self.groups_with_jobs(index, backend, now, settings.long_queued_after):
                op = self._plan_one(scheduler, backend, group, now, settings, index)
                if op is not None:
                    result.operations.append(op)
                if group == POLL and settings.new_jobs_apart(backend):
                    new = self._plan_new(scheduler, backend, now, settings, index)
                    if new is not None:
                        result.operations.append(new)
        gone = self._active_backends - active_now
        for backend in sorted(gone):
            if scheduler.running_count(backend):
                # A poll still runs for it: tear down only once it is over.
                active_now.add(backend)
                continue
            result.idle_backends.append(backend)
            for group in (POLL, POLL_QUEUED, POLL_NEW):
                self._last.pop(OpKey.poll(group, backend), None)
                self._last_started.pop(OpKey.poll(group, backend), None)
        self._active_backends = active_now
        return result

    def unchecked_for(self, index: ActiveJobIndex, backend: str, now: float,
                      long_queued_after: float) -> float | None:
        """Seconds since the least recently polled of ``backend``'s active jobs was last looked at.

        A group never polled counts from its oldest job's entry into its
        state.  None when the backend has no job to poll.
        """
        ages = []
        for group in self.groups_with_jobs(index, backend, now, long_queued_after):
            started = self._last_started.get(OpKey.poll(group, backend))
            if started is None:
                entered = [t for t in (index.oldest_since(backend, s) for s in ("running", "submitted"))
                           if t is not None]
                started = min(entered, default=now)
            ages.append(now - started)
        return max(ages, default=None)

    @staticmethod
    def groups_with_jobs(index: ActiveJobIndex, backend: str, now: float, long_queued_after: float) -> list[str]:
        """Which poll groups of ``backend`` have jobs (O(1) per backend)."""
        cutoff = now - long_queued_after
        groups = []
        newest_submitted = index.newest_since(backend, "submitted")
        if index.count(backend, "running") or (newest_submitted is not None and newest_submitted > cutoff):
            groups.append(POLL)
        oldest_submitted = index.oldest_since(backend, "submitted")
        if oldest_submitted is not None and oldest_submitted <= cutoff:
            groups.append(POLL_QUEUED)
        return groups

    def _plan_one(self, scheduler: Scheduler, backend: str, group: str, now: float,
                  settings: PlannerSettings, index: ActiveJobIndex) -> Operation | None:
        key = OpKey.poll(group, backend)
        current = scheduler.find(key)
        last_started = self._note_started(key, current)
        if current is not None and current.state is State.RUNNING:
            return None
        interval = settings.interval_for(backend)
        priority = PriorityClass.POLL
        if group == POLL_QUEUED:
            interval *= settings.queued_interval_factor
            priority = PriorityClass.QUEUED
        if last_started is None:
            due = now
        elif group == POLL:
            due = settings.periodic_due(backend, now, last_started, interval)
        else:
            due = last_started + interval
        previous = self._last.get(key)
        if previous is not None and previous.last_error and previous.finished_at is not None:
            due = max(due, previous.finished_at + interval)  # it gave up: wait a whole interval
        newest = index.newest_since(backend, "submitted") if group == POLL else None
        if newest is not None and last_started is not None and settings.new_jobs_apart(backend):
            newest = None  # ("poll-new", backend) looks at them (_plan_new)
        if newest is not None and (last_started is None or newest > last_started):
            seen_soon = newest + settings.first_poll_delay
            # nothing polled yet and nothing running: let the new job start before the first look
            first_look = last_started is None and not index.count(backend, "running")
            due = seen_soon if first_look else min(due, seen_soon)
        # a backend that polls everything at each poll (new_jobs_apart) would pay a whole poll per master
        ended = self._submission_ended.get(backend) if group == POLL and not settings.new_jobs_apart(backend) \
            else None
        if ended is not None and (last_started is None or ended > last_started):
            due = min(due, ended + settings.first_poll_delay)
        due = max(due, now)
        if current is not None:
            if due >= current.due:
                return None
            self._last[key] = current
        op = Operation(key=key, kind=Kind.POLL, backend=backend, priority=priority, due=due,
                       action=self._make_action(backend, group),
                       description=f"{group} {backend}")
        if current is None:
            self._last[key] = op
        return op  # with a current op pending, submitting this merges: it only moves the due time

    def _plan_new(self, scheduler: Scheduler, backend: str, now: float, settings: PlannerSettings,
                  index: ActiveJobIndex) -> Operation | None:
        """The poll of jobs submitted since ``backend``'s last poll began, ``first_poll_delay`` after the newest."""
        last_poll = self._last_started.get(OpKey.poll(POLL, backend))
        newest = index.newest_since(backend, "submitted")
        if last_poll is None or newest is None or newest <= last_poll:
            return None  # never polled (its first poll looks at them all), or nothing new
        key = OpKey.poll(POLL_NEW, backend)
        current = scheduler.find(key)
        last_new = self._note_started(key, current)
        if last_new is not None and newest <= last_new:
            return None  # the new jobs were looked at already
        if current is not None:
            return None  # one planned or running: it takes every job new when it starts
        op = Operation(key=key, kind=Kind.POLL, backend=backend, priority=PriorityClass.POLL,
                       due=max(now, newest + settings.first_poll_delay),
                       action=self._make_action(backend, POLL_NEW), description=f"{POLL_NEW} {backend}")
        self._last[key] = op
        return op

    def new_since(self, backend: str) -> float | None:
        """Jobs of ``backend`` submitted after this time are new: its last poll began then."""
        return self._last_started.get(OpKey.poll(POLL, backend))

    def _note_started(self, key: OpKey, current: Operation | None) -> float | None:
        """The start time of the latest poll of ``key`` seen so far."""
        latest = self._last_started.get(key)
        for op in (current, self._last.get(key)):
            if op is not None and op.started_at is not None and (latest is None or op.started_at > latest):
                latest = op.started_at
        if latest is not None:
            self._last_started[key] = latest
        return latest
