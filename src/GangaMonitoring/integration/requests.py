"""Work a user asked for: ``runMonitoring``, a requested backend call, boosts, retrying given-up output.

Every request becomes operations of the user priority class, so it runs
before periodic work; a request for work already pending merges into it (one
key, one operation).  What the user's thread waits for, it waits for with a
deadline on the component's clock and never longer.

Contract of :meth:`UserRequests.run_monitoring`: each step polls every
requested active job once (a whole backend's groups when no job is named) and
waits until all of that step's polls ended; True when every step ended
before the deadline, False otherwise (the polls go on).  A poll that failed
has ended: its failure is the log's and the breaker's, not the caller's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.logging import getLogger

from .. import config
from ..core.clock import Clock
from ..core.index import ActiveJobIndex
from ..runtime.isolate import CallBudget
from ..core.planner import POLL, POLL_QUEUED
from ..runtime.runner import SchedulerRunner
from ..core.work import JobKey, Kind, Operation, OpKey, PriorityClass
from . import registry
from .pipeline import OutputPipeline
from .polling import MAX_ISOLATING_CALLS, Polling, chunk_size

log = getLogger("GangaMonitoring.component")

ACTIVE = ("submitted", "running")


class UserRequests:
    """What the user's thread asks of monitoring (see the module's contract)."""

    def __init__(self, registry_slice: Any, index: ActiveJobIndex, runner: SchedulerRunner, clock: Clock,
                 polling: Polling, pipeline: OutputPipeline) -> None:
        self.registry_slice = registry_slice
        self.index = index
        self.runner = runner
        self.clock = clock
        self.polling = polling
        self.pipeline = pipeline

    def run_monitoring(self, jobs: Any, steps: int, timeout: float) -> bool:
        """Poll the requested jobs (None: every active job) ``steps`` times and wait; False on timeout."""
        deadline = self.clock.now() + timeout
        if jobs is not None:
            self.boost(jobs, "runMonitoring(jobs=...)", poll=False)
        for _ in range(max(1, int(steps))):
            waits = [self._request_poll(backend, ids, jobs is None)
                     for backend, ids in self._requested_by_backend(jobs).items()]
            for done in waits:
                if not done.wait(self.clock.time_until(deadline)):
                    log.warning("runMonitoring: timed out after %.0f s", timeout)
                    return False
        return True

    def call(self, monitoring_task: Any, jobs: list[Any]) -> None:
        """A backend's update for ``jobs`` asked from a thread of the user's: a user-priority call, fanned out."""
        fqids = tuple(sorted(stripProxy(j).getFQID(".") for j in jobs))
        name = getattr(monitoring_task, "__qualname__", repr(monitoring_task))
        backend = registry.backend_of_jobs(jobs)
        driver = self.polling.driver
        chunkable = bool(jobs) and driver.chunkable(driver.backend_class(jobs[0]))

        def action(op: Operation) -> None:
            deadline = self.clock.now() + float(config.monitoring_option("call_timeout"))
            with self.polling.fanout.parent(op, backend, deadline=deadline,
                                            chunk_size=chunk_size() if chunkable else None,
                                            budget=CallBudget(MAX_ISOLATING_CALLS)) as fan:
                self.polling.fan_out(fan, monitoring_task, jobs)
            self.polling.fan_in(fan)

        self.runner.submit(Operation(key=OpKey.call(name, fqids), kind=Kind.CALL, backend=backend,
                                     priority=PriorityClass.USER, due=self.clock.now(), action=action,
                                     job_ids=registry.top_level_ids(jobs),
                                     description=f"{name} for {len(jobs)} job(s)"))

    def boost(self, jobs: Any, reason: str, poll: bool = True) -> int:
        """A user acted on ``jobs``: their pending work moves to the front of the queues.

        Waiting retrievals, finalisations and calls for those jobs become
        user-class work due now.  With ``poll``, an active job that has no
        such work gets a poll of its own (not waited for), so ``j.peek()`` on
        a running job also refreshes its status.  Returns how many operations
        were boosted or submitted.
        """
        try:
            ids = registry.top_level_ids(registry.as_job_list(jobs, self.registry_slice))
        except Exception as err:  # noqa: BLE001 - a hook must never break the user's action
            log.debug("cannot boost %r: %s", jobs, err)
            return 0
        boosted = self.runner.boost(lambda op: bool(op.job_ids & ids), reason)
        covered = set().union(*(op.job_ids for op in boosted)) if boosted else set()
        polls = 0
        if poll:
            for backend, wanted in self._active_by_backend(ids - covered).items():
                self.runner.submit(self._user_poll(backend, OpKey.poll_jobs(backend, frozenset(wanted)),
                                                   self.polling.poll_ids_action(backend, wanted), wanted))
                polls += 1
        return len(boosted) + polls

    def on_user_action(self, job: Any, action: str) -> None:
        """Listener: the user called ``action`` (``peek``, ``getOutputSandbox``, ...) on ``job`` of our registry."""
        raw = stripProxy(job)
        if self.registry_slice is None or raw._getRegistry() is not registry.registry_of(self.registry_slice):
            return
        self.boost([raw], f"the user called {action}()")

    def retry_output(self, jobs: Any = None) -> list[str]:
        """Jobs that failed only because their output could not be had go back to ``running``.

        Their backend is then polled, reports them finished again, and
        retrieval and finalisation run once more.  ``jobs``: a job, an id or a
        list (None: every such job).  Returns the FQIDs put back.
        """
        failures = self.pipeline.output_failures
        wanted = None if jobs is None else registry.top_level_ids(registry.as_job_list(jobs, self.registry_slice))
        retried = []
        for fqid, (key, _reason) in list(failures.items()):
            if wanted is not None and key.top not in wanted:
                continue
            job = registry.find_job(self.registry_slice, key)
            del failures[fqid]
            if job is None or job.status != "failed":
                continue
            job.status = "running"
            retried.append(fqid)
            if key.sub is not None:
                master = registry.find_job(self.registry_slice, JobKey(key.top))
                if master is not None and master.status in ("failed", "completed", "killed"):
                    master.status = "running"  # Ganga forbids failed -> running; tracked and polled again
        if retried:
            log.info("retrying the output of %d job(s): %s", len(retried), ", ".join(retried[:10]))
            self.runner.wake()
        return retried

    # -- polls the user waits for ------------------------------------------------------

    def _active_by_backend(self, ids: set[int]) -> dict[str, set[int]]:
        grouped: dict[str, set[int]] = {}
        for job_id in ids:
            tracked = self.index.get(job_id)
            if tracked is not None and tracked.status in ACTIVE:
                grouped.setdefault(tracked.backend, set()).add(job_id)
        return grouped

    def _requested_by_backend(self, jobs: Any) -> dict[str, set[int]]:
        wanted = None if jobs is None else registry.top_level_ids(registry.as_job_list(jobs, self.registry_slice))
        grouped: dict[str, set[int]] = {}
        for backend in self.index.polled_backends():
            for status in ACTIVE:
                for tracked in self.index.jobs(backend, status):
                    if wanted is None or tracked.job_id in wanted:
                        grouped.setdefault(backend, set()).add(tracked.job_id)
        return grouped

    def _request_poll(self, backend: str, ids: set[int], everything: bool) -> threading.Event:
        """Submit user-priority polls (a backend's whole groups, or these jobs) and return an event set when all ran."""
        requests: list[tuple[OpKey, Callable[[Operation], None]]]
        if everything:
            requests = [(OpKey.poll(group, backend), self.polling.poll_action(backend, group))
                        for group in (POLL, POLL_QUEUED)]
        else:
            requests = [(OpKey.poll_jobs(backend, frozenset(ids)), self.polling.poll_ids_action(backend, ids))]
        return _all_done(self.runner, [self._user_poll(backend, key, action, ids) for key, action in requests])

    def _user_poll(self, backend: str, key: OpKey, action: Callable[[Operation], None],
                   ids: set[int]) -> Operation:
        return Operation(key=key, kind=Kind.POLL, backend=backend, priority=PriorityClass.USER,
                         due=self.clock.now(), action=action, job_ids=set(ids),
                         description=f"requested poll of {len(ids)} {backend} job(s)")


def _all_done(runner: SchedulerRunner, operations: list[Operation]) -> threading.Event:
    """Submit ``operations``; the event is set once each has ended (done, given up or merged work done)."""
    done = threading.Event()
    pending = len(operations)
    if not pending:
        done.set()
    lock = threading.Lock()

    def one_done(_op: Operation) -> None:
        nonlocal pending
        with lock:
            pending -= 1
            if pending == 0:
                done.set()

    for op in operations:
        runner.submit(op, listener=one_done)
    return done
