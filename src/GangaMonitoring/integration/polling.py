"""Polls of a backend's jobs: through its native driver, or through Ganga's own update, fanned out.

A poll operation (planned by ``PollPlanner``, or requested by a user) names a
backend and a group of its jobs; :meth:`Polling.poll_action` turns it into the
call that picks the jobs from the active-job index when it runs, and
:meth:`Polling.poll_jobs` polls them:

- a backend with a native driver: the driver's ``poll`` with the subjobs of
  the polled masters, then each master rolled up;
- any other backend: Ganga's ``master_updateMonitoringInformation``, bisected
  when it raises (one bad job must not fail its backend), its nested
  ``run_monitoring_task`` calls becoming update operations of their own
  (``runtime/fanout.py``), waited for until :meth:`Polling.update_deadline`.

A failed call may have moved (even finalised) some of its jobs before it
raised; the calls that bisect it are given only the jobs still ``submitted``
or ``running`` in the status they had when it began (:func:`unchanged_since`,
given to ``isolate`` by the poll and by the fan-out's update operations), so no
job's update runs twice on the same news.

Contract: a poll raises ``BackendPollFailed`` when nothing of it worked (the
breaker counts it against the backend), ``JobsFailed`` when only some jobs'
own updates failed (retried; not a failed poll of the backend: ``queues``
shows those jobs under their job), ``PollFailed`` when some calls failed
otherwise (retried, counted in the backend's poll record), and returns otherwise; jobs whose
update failed alone are the pipeline's trouble, never their backend's.  A job
whose ``submit()`` still runs is not polled.  The auto-kill/resubmit policies
run for the polled jobs after every poll, failed or not.  Each backend has one
native driver instance, built once even when two first polls race.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.logging import getLogger

from .. import config
from ..core.bugs import own_bug
from ..core.clock import Clock
from ..runtime.fanout import Child, FanOut, JobKey, Parent
from ..core.index import POLLED_STATES, SUBMISSION_STATES, ActiveJobIndex
from ..runtime.isolate import CallBudget, Isolated, isolate
from ..core.planner import POLL, POLL_NEW, POLL_QUEUED, PlannerSettings, PollPlanner
from ..core.poll_record import BackendPollRecord
from ..core.retry import BackendPollFailed, JobsFailed, PollFailed, TransientError, is_backend_fault
from ..runtime.runner import SchedulerRunner
from ..core.update_calls import OTHER, UpdateCalls
from ..core.work import Operation
from ..drivers import has_native_driver, make_native_driver
from ..drivers.base import NativeDriver, job_key
from ..drivers.stock import StockDriver
from .. import patches
from . import registry
from .kill_resubmit import KillResubmitChecks
from .pipeline import OutputPipeline, submission_judged_by_subjobs

log = getLogger("GangaMonitoring.component")

MAX_ISOLATING_CALLS = 40
"""Calls one poll may spend isolating bad jobs; the jobs left unresolved wait for the next poll."""


def call_inline(loop: asyncio.AbstractEventLoop, task: Any, jobs: Any) -> None:
    """Run a backend's update ``task`` for ``jobs`` now: a coroutine on ``loop``, bounded by ``call_timeout``."""
    timeout = float(config.monitoring_option("call_timeout"))
    if asyncio.iscoroutinefunction(task):
        future = asyncio.run_coroutine_threadsafe(task(jobs), loop)
        try:
            future.result(timeout)
        except TimeoutError as err:
            future.cancel()
            raise TransientError(f"{getattr(task, '__qualname__', task)} took over {timeout:.0f}s") from err
    else:
        task(jobs=jobs)


def counted_call(call: Callable[[Any, Any], None], counts: UpdateCalls,
                 current_operation: Callable[[], Operation | None], task: Any, jobs: Any) -> None:
    """``call(task, jobs)``, counted in ``counts`` under the work it is made for (``current_operation``:
    the update operation running in this thread, whose parent, if any, is that work)."""
    if jobs:
        op = current_operation()
        key = None if op is None else op.parent or op.key
        counts.note(type(stripProxy(jobs[0]).backend).__name__, key.what if key is not None else OTHER, len(jobs))
    call(task, jobs)


class Polling:
    """The polls of every backend (see the module's contract).

    ``registry_slice``: Ganga's job registry slice the jobs are resolved in;
    ``call(task, jobs)``: a backend's update run now (:func:`call_inline`).
    """

    def __init__(self, registry_slice: Any, index: ActiveJobIndex, runner: SchedulerRunner, clock: Clock,
                 pipeline: OutputPipeline, kill_resubmit: KillResubmitChecks,
                 call: Callable[[Any, Any], None]) -> None:
        self.registry_slice = registry_slice
        self.index = index
        self.runner = runner
        self.clock = clock
        self.pipeline = pipeline
        self.kill_resubmit = kill_resubmit
        self.call = call
        self.driver = StockDriver()
        self.planner = PollPlanner(self.planner_settings, self.poll_action)
        self.fanout = FanOut(runner, clock, call=call, identify=job_key,
                             on_child_done=self._on_update_done, on_outcomes=self._job_outcomes,
                             service_fault=_service_fault, unchanged=unchanged_since)
        self.backend_classes: dict[str, type] = {}
        """backend -> the Ganga backend class whose update last succeeded for it (torn down when idle)."""
        self.records: dict[str, BackendPollRecord] = {}
        self._drivers_lock = threading.Lock()
        self.on_polled: Callable[[list[Any]], None] = lambda jobs: None
        """Called with the jobs (subjobs of masters) each native poll looked at (``FileEvents.adopt``)."""
        self.periodic_due: Callable[[str, float, float, float], float] = \
            lambda _backend, _now, last_started, interval: last_started + interval
        """When a backend's next periodic poll is due after its last began (``CadencePolls.periodic_due``)."""
        self.on_periodic_poll: Callable[[str, float], None] = lambda backend, started: None
        """Called after each periodic poll of a backend (failed or not) with when it began (``CadencePolls``)."""

    # -- what to poll ----------------------------------------------------------------

    def planner_settings(self) -> PlannerSettings:
        return PlannerSettings(
            interval_for=config.poll_interval,
            long_queued_after=float(config.monitoring_option("long_queued_after")),
            queued_interval_factor=float(config.monitoring_option("queued_interval_factor")),
            first_poll_delay=float(config.monitoring_option("first_poll_delay")),
            new_jobs_apart=lambda backend: self.native_driver(backend) is None,
            periodic_due=self.periodic_due,
        )

    def poll_action(self, backend: str, group: str) -> Callable[[Operation], None]:
        """The action of a poll of ``group``: its jobs are taken from the index when it runs."""
        def action(op: Operation) -> None:
            if group == POLL_NEW:  # jobs submitted since the backend's last poll began
                since = self.planner.new_since(backend)
                ids = [t.job_id for t in self.index.jobs(backend, "submitted") if since is None or t.since > since]
                op.job_ids = set(ids)
                self.poll_jobs(op, backend, ids, scope=POLL)
                return
            cutoff = self.clock.now() - float(config.monitoring_option("long_queued_after"))
            ids = [t.job_id for t in self.index.jobs(backend, "running")] if group == POLL else []
            for tracked in self.index.jobs(backend, "submitted"):
                if (tracked.since > cutoff) == (group == POLL):
                    ids.append(tracked.job_id)
            op.job_ids = set(ids)
            try:
                self.poll_jobs(op, backend, ids, scope=group)
            finally:
                if group == POLL:
                    self.on_periodic_poll(backend, self.clock.now() if op.started_at is None else op.started_at)
        return action

    def poll_ids_action(self, backend: str, ids: Iterable[int]) -> Callable[[Operation], None]:
        """The action of a requested poll of these top-level jobs."""
        wanted = list(ids)

        def action(op: Operation) -> None:
            self.poll_jobs(op, backend, wanted, scope="requested")
        return action

    # -- polling -----------------------------------------------------------------------

    def poll_changed(self, op: Operation, backend: str, jobs: list[Any]) -> None:
        """Poll these jobs (subjobs or unsplit jobs, active) whose status files changed: the native
        driver's ``files_changed``, or the backend's own update of them; their masters rolled up after.

        Not a poll of the backend: its poll record and the planner's times are left alone.
        """
        native = self.native_driver(backend)
        masters = {job.master.id for job in jobs if job.master is not None}
        try:
            if native is not None:
                native.files_changed(jobs, self.pipeline)
            else:
                with self.fanout.inline(op):
                    self.pipeline.run_stock_update(jobs)
        finally:
            self.kill_resubmit.after_poll(jobs)
            for master_id in masters:
                self.pipeline.rollup(master_id, backend)

    def poll_jobs(self, op: Operation, backend: str, ids: list[int], scope: str = "") -> None:
        jobs = [j for j in registry.resolve_jobs(self.registry_slice, ids) if polled_now(j)]
        record = self.records.setdefault(backend, BackendPollRecord(backend))
        started = self.clock.now()
        try:
            self._poll_with_driver(op, backend, jobs, scope)
        except JobsFailed:
            # the backend answered: the jobs that failed alone are their own trouble (shown under their job,
            # failed after failing_job_grace), not a failing backend's
            record.finished(started, self.clock.now(), len(jobs), None)
            raise
        except Exception as err:
            record.finished(started, self.clock.now(), len(jobs), f"{type(err).__name__}: {err}")
            raise
        finally:
            self.kill_resubmit.after_poll(jobs)
        record.finished(started, self.clock.now(), len(jobs), None)

    def _poll_with_driver(self, op: Operation, backend: str, jobs: list[Any], scope: str) -> None:
        native = self.native_driver(backend)
        if native is not None:
            self._poll_native(native, jobs, scope)
            return
        # its own update would end a subjob failed during a submission that fails then (monitored_in_submission)
        jobs = [job for job in jobs
                if not (patches.in_submission(stripProxy(job)) and submission_judged_by_subjobs(job))]
        if not jobs:
            return
        backend_class = self.driver.backend_class(jobs[0])
        budget = CallBudget(MAX_ISOLATING_CALLS)
        with self.fanout.parent(op, backend, deadline=self.update_deadline(backend, scope),
                                chunk_size=chunk_size() if self.driver.chunkable(backend_class) else None,
                                budget=budget) as fan:
            # bisected: a backend's own master_updateMonitoringInformation may raise for one job
            top = isolate(lambda batch: self.driver.poll(batch), jobs, budget, bug=own_bug,
                          unchanged=unchanged_since)
        self.fan_in(fan, top)
        if top.succeeded:
            self.backend_classes[backend] = backend_class

    def update_deadline(self, backend: str, scope: str) -> float:
        """How long a poll waits for its updates: one interval of its group, or a requested call's timeout.

        Updates still running then go on alone; the next poll skips their jobs.
        """
        settings = self.planner_settings()
        if scope == POLL:
            wait = settings.interval_for(backend)
        elif scope == POLL_QUEUED:
            wait = settings.interval_for(backend) * settings.queued_interval_factor
        else:
            wait = float(config.monitoring_option("call_timeout"))
        return self.clock.now() + wait

    def fan_out(self, parent: Parent, task: Any, jobs: list[Any]) -> None:
        """A nested ``run_monitoring_task`` inside a poll (or a requested call): update operations.

        A call for no job is made at once, here (a task may do backend-wide work).
        """
        if not jobs:
            with self.fanout.inline():
                self.call(task, jobs)
            return
        self.fanout.add(parent, task, jobs)

    def fan_in(self, parent: Parent, top: Isolated[Any] | None = None) -> None:
        """Wait for a parent's updates; raise when some jobs could not be updated.

        The breaker counts the parent, once: ``BackendPollFailed`` when no
        call succeeded (the service itself fails), else ``PollFailed``.
        """
        ended = self.fanout.wait(parent)
        if parent.own or parent.joined:
            parent.op.units = 0  # its children are the latency samples
        failed = parent.failures()
        messages = [f"{describe_batch(batch)}: {type(e).__name__}: {e}" for batch, e in (top.failures if top else [])]
        messages += [c.detail or c.error or "" for c in failed]
        if not ended:
            log.debug("%s: %d update(s) still running at its deadline go on alone", parent.op.description,
                      sum(1 for c in parent.children() if not c.done.is_set()))
        if not messages:
            return
        nothing_worked = (top is not None and not top.succeeded) or (
            bool(parent.own) and all(c.done.is_set() and c.service_down for c in parent.own))
        # every failure one job's own (isolated to it, not the service's): the backend answered
        jobs_alone = (not any(c.service_down for c in failed)
                      and all(len(batch) == 1 and not _service_fault(e) for batch, e in (top.failures if top else [])))
        error = BackendPollFailed if nothing_worked else JobsFailed if jobs_alone else PollFailed
        count = (top.failed_items if top else 0) + sum(c.failed_jobs or len(c.jobs) for c in failed)
        raise error(f"{count} {parent.named} job(s) could not be updated: {'; '.join(messages[:5])}")

    def _job_outcomes(self, fine: list[JobKey], alone: list[tuple[JobKey, str]]) -> None:
        """After an update: jobs updated are fine again; a job that failed alone is noted (see ``trouble``)."""
        self.pipeline.troubled.fine(fine)
        for key, error in alone:
            self.pipeline.note_job_failure(key, error)

    def _on_update_done(self, child: Child, op: Operation) -> None:
        """An update operation ended: masters whose subjobs it updated are rolled up soon."""
        for master_id in {top for top, sub in child.jobs if sub is not None}:
            self.pipeline.rollup(master_id, op.backend)

    # -- native drivers ------------------------------------------------------------------

    def native_driver(self, backend: str) -> NativeDriver | None:
        """The backend's one driver (None: it has none, or native drivers are off).

        Two first polls of a backend at once get the same instance: a driver
        keeps state between its poll and the work it hands over (Dirac's
        handed-over jobs), which ``hand_over`` finds through the pipeline.
        """
        if not config.monitoring_option("native_drivers"):
            return None
        drivers = self.pipeline.drivers
        driver = drivers.get(backend)
        if driver is None:
            with self._drivers_lock:
                driver = drivers.get(backend)
                if driver is None:
                    driver = make_native_driver(backend)
                    if driver is not None:
                        drivers[backend] = driver
        return driver

    def _poll_native(self, driver: NativeDriver, top_jobs: list[Any], scope: str) -> None:
        jobs, masters = registry.expand_subjobs(top_jobs, POLLED_STATES)
        try:
            driver.poll(jobs, self.pipeline, scope)
            self.on_polled([job for job in jobs if registry.job_status(job) in POLLED_STATES])
        finally:
            for master in masters:
                self.pipeline.rollup(master.id, driver.backend)

    def tear_down(self, backend: str) -> None:
        """``backend`` has no job left: its monitoring state goes (its clients, its driver's state)."""
        backend_class = self.backend_classes.pop(backend, None)
        if backend_class is not None:
            self.driver.tear_down(backend_class)
        native = self.pipeline.drivers.get(backend)
        if native is not None:
            native.tear_down()

    def known_backends(self) -> set[str]:
        """Backends that have monitoring state to tear down."""
        return set(self.backend_classes) | set(self.pipeline.drivers)


def polled_now(job: Any) -> bool:
    """Is the top-level ``job`` to be polled now?

    A job whose ``submit()`` still runs is Ganga's until it returns (patches
    item 7), except a split one: its subjobs submitted already are polled
    (its roll-up waits for the end of the submission, item 7 too).
    """
    if patches.in_submission(job):
        return monitored_in_submission(job) and registry.job_status(job) in SUBMISSION_STATES
    return registry.job_status(job) in POLLED_STATES


def monitored_while_submitted(job: Any) -> bool:
    """Is ``job``'s ``submit()`` running, with its subjobs submitted so far monitored meanwhile?"""
    return patches.in_submission(job) and monitored_in_submission(job)


def monitored_in_submission(job: Any) -> bool:
    """Are the subjobs of ``job`` (a top-level job whose ``submit()`` runs) monitored meanwhile?

    Yes for a split job, except one whose backend's submission judges itself
    by its subjobs' states (``pipeline.SUBMISSION_JUDGED_BY_SUBJOBS``) and has
    no native driver: the pipeline holds a native driver's subjob ends that
    would fail the submission until it returns; the backend's own update
    would not, so such a job is monitored once ``submit()`` returns.
    """
    raw = stripProxy(job)
    if not len(raw.subjobs):
        return False
    return not submission_judged_by_subjobs(raw) or native_driver_available(registry.job_backend_name(raw) or "")


def native_driver_available(backend: str) -> bool:
    """Would ``backend`` be monitored through a native driver (``[Monitoring]native_drivers`` and one exists)?"""
    return bool(config.monitoring_option("native_drivers")) and has_native_driver(backend)


def still_polled(job: Any, before: str) -> bool:
    """Is ``job`` still in the polled status ``before`` it had (no update moved it since)?"""
    status = registry.job_status(job)
    return status == before and status in POLLED_STATES


def unchanged_since(batch: Sequence[Any]) -> Callable[[Any], bool]:
    """Each job's status now; the returned test: is a job still polled, in that same status?"""
    before = {id(job): registry.job_status(job) for job in batch}
    return lambda job: still_polled(job, before[id(job)])


def describe_batch(batch: list[Any]) -> str:
    ids = [stripProxy(j).id for j in batch]
    return f"job {ids[0]}" if len(ids) == 1 else f"{len(ids)} jobs ({ids[0]}..{ids[-1]})"


def chunk_size() -> int | None:
    """``[Monitoring]compat_chunk_size``: subjobs per update operation (None: one update per master)."""
    size = int(config.monitoring_option("compat_chunk_size"))
    return size if size > 0 else None


def _service_fault(error: BaseException) -> bool:
    """Does ``error`` from a backend's update say its service is unwell?  Ganga's ``JobError`` says a job is."""
    from GangaCore.GPIDev.Lib.Job.Job import JobError

    return not isinstance(error, JobError) and is_backend_fault(error)
