"""The drop-in ``monitoring_component``: Ganga's contract on top of the scheduler.

Ganga builds this object in ``GangaCore.Core.bootstrap`` (through the class
swap in ``patches``) and other code uses it as it used the stock
``AsyncMonitoringService`` (GANGA_NOTES §1.2): ``enable()``, ``disable()``,
``stop()``, ``join()``, ``alive``, ``enabled``, ``should_stop()``,
``runMonitoring(jobs=None, ...)``, ``run_monitoring_task(fn, jobs)`` and a
running asyncio ``loop``.  Inside, the work goes through the priority
scheduler::

    status changes ─► ActiveJobIndex ─► PollPlanner ─► Scheduler ─► Pools
     (patches)          ▲ reconcile (slow timer)          ▲   user requests
                        └─ registry                       └── runMonitoring, run_monitoring_task

This module is the wiring and the contract; each part is a module of its
own: ``polling`` (the polls, fan-out of Ganga's updates, native drivers),
``pipeline`` (what drivers hand over: retrieval, finalisation, roll-up,
give-up), ``requests`` (what a user asks for), ``kill_resubmit`` (auto-kill and
resubmit), ``checks`` / ``credentials`` / ``completing`` (periodic checks),
``recovery`` (the previous session's unfinished jobs), ``progress`` (split
jobs' pace).  This object keeps the active-job index from status changes and
the registry.

Threads: this object *is* the GangaThread that runs the asyncio loop (as
stock, for coroutine backends and Dirac's tasks); a dispatcher thread runs
the scheduler; the pools run the work.  Lock order: the status listeners run
in the thread that changed a status (after Ganga's setter let the job's lock go)
and take the runner's lock (``wake``), so nothing may touch a job while holding
the runner's lock.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import logging
import os
import threading
import time
from typing import Any
from collections.abc import Iterable

from GangaCore.Core.GangaThread import GangaThread
from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.logging import getLogger
from tenacity import stop_after_attempt, stop_after_delay, wait_exponential_jitter
from tenacity.stop import stop_base

from .. import config, service_events
from ..views import job_table, status_file
from ..views.layout import render
from ..views.snapshot import JobProgress, JobStatistics, MonitoringSnapshot
from ..core.adaptive import AdaptiveSettings, ConcurrencyLimits
from ..core.breaker import LOCAL_DISK, BreakerBoard
from ..core.clock import Clock, SystemClock
from ..runtime.collector import SURVIVORS_FROZEN
from ..core.draining import drain
from ..runtime.fanout import FanOut, JobKey
from ..core.index import SUBMISSION_STATES, TRACKED_STATES, ActiveJobIndex
from ..core.planner import POLL, POLL_NEW, POLL_QUEUED, PollPlanner
from ..core.poll_record import BackendPollRecord
from ..runtime.pools import Pools
from ..core.retry import RetryPolicy
from ..runtime.runner import SchedulerRunner
from ..core.scheduler import Scheduler
from ..core.trouble import EndedReasons, TroubledJobs
from ..core.update_calls import UpdateCalls
from ..core.work import FILE_EVENT_POLL, UPDATE, Kind, Operation, OpKey, PriorityClass
from ..drivers.base import NativeDriver
from ..drivers.stock import StockDriver
from . import completing, registry, statistics
from ..views import job_rows
from .. import patches
from .checks import FreeDiskCheck, PeriodicCheck
from ..patches.subjob_statuses import check_counts
from .credentials import CredentialCheck
from .cadence_polls import CadencePolls
from .file_events import FileEvents
from .kill_resubmit import KillResubmitChecks
from .loop import ThreadSafeEventLoop, cancel_and_close, log_exceptions
from .pipeline import OutputPipeline
from .polling import Polling, call_inline, counted_call, monitored_while_submitted
from ..views.job_rows import run_time
from ..views.progress import SplitJobProgress
from ..views.prompt import PromptNotice, tell_user
from .recovery import recover_interrupted_jobs
from .requests import UserRequests

log = getLogger("GangaMonitoring.component")

RECONCILE_KEY = OpKey.session("reconcile")
STATUS_FILE_SHARE = 0.02
"""At most this share of the time goes to writing the status file (``checks.next_due``): at thousands of
subjobs a write reads every queued operation and thousands of rows, while holding the GIL the retrievals
and finalisations it describes need."""
FINISHING_STATES = frozenset({"completing", "completed", "failed", "killed"})
PERIODIC_WORK = frozenset({POLL, POLL_QUEUED, POLL_NEW, FILE_EVENT_POLL, RECONCILE_KEY.what, "disk-check",
                           "credential-check", "completing-check", "status-file", "rollup-check", UPDATE})
"""What (``OpKey.what``) periodic monitoring schedules: withdrawn by ``disable()``, unless a user asked for it."""


def periodic(op: Operation) -> bool:
    """Work periodic monitoring scheduled (not a user's): withdrawn at ``disable()``, never retried while disabled."""
    return op.key.what in PERIODIC_WORK and op.priority is not PriorityClass.USER


class MonitoringComponent(GangaThread):
    """Ganga's monitoring component, scheduled by priority and observable."""

    def __init__(self, registry_slice: Any = None, *, clock: Clock | None = None) -> None:
        GangaThread.__init__(self, name="GangaMonitoring")
        self.daemon = True
        self.loop = ThreadSafeEventLoop()
        self.enabled = False
        self.alive = True
        self.registry_slice = registry_slice
        self.clock: Clock = clock or SystemClock()
        self.index = ActiveJobIndex()
        sizes = {
            "poll": config.monitoring_option("poll_workers"),
            "io": config.monitoring_option("io_workers"),
            "cpu": config.monitoring_option("cpu_workers"),
            "processes": config.monitoring_option("cpu_workers"),
        }
        self.pools = Pools(sizes, self.clock, log_file=config.ganga_log_file(),
                           log_level=logging.getLogger("GangaMonitoring").getEffectiveLevel(),
                           niceness=config.monitoring_option("worker_niceness"))
        self.scheduler = Scheduler(
            {name: self.pools.sizes[name] for name in ("poll", "io", "cpu")},
            aging_seconds=config.monitoring_option("aging_seconds"),
            limits=ConcurrencyLimits(config.fixed_backend_concurrency, self._adaptive_settings),
            breakers=BreakerBoard(config.breaker_settings),
        )
        self.runner = SchedulerRunner(self.scheduler, self.pools, self.clock, self.retry_policy,
                                      plan=self._plan, retry_allowed=lambda op: self.enabled or not periodic(op),
                                      turn=patches.PROMPT_TURN)
        self.kill_resubmit = KillResubmitChecks(self.clock, self.runner,
                                          lambda ids: registry.resolve_jobs(self.registry_slice, ids))
        self.update_calls = UpdateCalls()
        """Each call of a backend's own update, by its cause (``queues``, the demo's figures)."""
        call = functools.partial(counted_call, functools.partial(call_inline, self.loop), self.update_calls,
                                 self._current_update)
        self.pipeline = OutputPipeline(self.runner, self.pools.run_in_process,
                                       lambda key: registry.find_job(self.registry_slice, key),
                                       failed_subjob=self.kill_resubmit.soon, call_inline=call)
        """The native drivers' context: hand-over, retrieval, finalisation, roll-up, the trouble of single jobs."""
        self.polling = Polling(registry_slice, self.index, self.runner, self.clock, self.pipeline,
                               self.kill_resubmit, call)
        self.requests = UserRequests(registry_slice, self.index, self.runner, self.clock, self.polling,
                                     self.pipeline)
        self.file_events = FileEvents(registry_slice, self.runner, self.clock, self.polling.poll_changed,
                                      lambda: self.enabled)
        """Watches of active Local and Batch jobs' output directories: a status file written, that job polled."""
        self.polling.on_polled = self.file_events.adopt
        self.cadence = CadencePolls(self.clock, self.index, self.file_events.watched_count)
        """The adaptive cadence of the polls of Local and Batch backends whose jobs give no file events."""
        self.polling.periodic_due = self._periodic_due
        self.polling.on_periodic_poll = self._periodic_poll_ended
        self.progress = SplitJobProgress(self.clock, self.index, self._top_level_job)
        self.prompt_notice = PromptNotice(self)
        self._state_lock = threading.RLock()
        self._enabled_once = False
        self._stopped = False
        self.disk_check = FreeDiskCheck(functools.partial(self.runner.hold, LOCAL_DISK),
                                        functools.partial(self.runner.release, LOCAL_DISK), config.existing_gangadir,
                                        lambda: float(config.monitoring_option("min_free_disk_mb")))
        """Holds retrieval and finalisation before the disk where outputs go is full."""
        self.credential_check = CredentialCheck(self.runner.hold, self.runner.release)
        self.last_service_error: dict[str, tuple[float, str]] = {}
        """backend -> (when, what) of the last error one of its clients retried (``service_events``)."""
        patches.add_status_listener(self._on_status_change)
        patches.add_status_listener(self._on_any_status_change, subjobs=True)
        patches.add_status_listener(self.file_events.on_status, subjobs=True)
        patches.add_status_listener(self.cadence.on_status, subjobs=True)

    # -- the parts, by the names other modules read --------------------------------

    @property
    def planner(self) -> PollPlanner:
        return self.polling.planner

    @property
    def fanout(self) -> FanOut:
        return self.polling.fanout

    @property
    def driver(self) -> StockDriver:
        return self.polling.driver

    @property
    def poll_records(self) -> dict[str, BackendPollRecord]:
        return self.polling.records

    @property
    def native_drivers(self) -> dict[str, NativeDriver]:
        """backend -> its one driver instance, polled concurrently (``Polling.native_driver``)."""
        return self.pipeline.drivers

    @property
    def troubled(self) -> TroubledJobs:
        return self.pipeline.troubled

    failing_job_grace = staticmethod(config.failing_job_grace)
    """``[Monitoring]failing_job_grace`` (statistics reads it through the component, which tests replace)."""

    @property
    def ended_reasons(self) -> EndedReasons:
        return self.pipeline.ended_reasons

    @property
    def output_failures(self) -> dict[str, tuple[JobKey, str]]:
        return self.pipeline.output_failures

    # -- GangaThread / life cycle ------------------------------------------------

    def start(self) -> None:
        GangaThread.start(self)
        self.runner.start()
        patches.hook_user_actions()
        patches.hook_submissions()
        patches.master_stamps_once()
        patches.add_submission_listener(self._on_submission_end)
        patches.add_submission_listener(self.file_events.submission_ended)
        patches.lock_free_reads()
        patches.loads_once()
        patches.cached_logger_names()
        patches.flush_costs_what_changed()
        patches.bounded_lock_holds()
        patches.writes_handed_the_lock()
        patches.fast_xml_saves()
        patches.slices_from_templates()
        patches.master_work_once()
        patches.subjob_statuses_counted()
        patches.tables_read_once()
        patches.prints_without_lock()
        patches.answer_condor_from_logs()
        patches.plain_stack_traces()
        service_events.subscribe(self._on_service_retry)
        patches.offload_postprocessing(self.pools.run_in_process)
        patches.add_user_action_listener(self.requests.on_user_action)
        SURVIVORS_FROZEN.start()  # full collections walk only what is new: the prompt waits less for them

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            cancel_and_close(self.loop)

    def enable(self) -> bool:
        """Start periodic monitoring; calling it again does nothing more."""
        if not self.alive:
            log.error("Cannot start monitoring loop. It has already been stopped")
            return False
        with self._state_lock:
            if self.enabled:
                return True
            self.enabled = True
            first = not self._enabled_once
            self._enabled_once = True
        self._submit_reconcile(recover=first, due=self.clock.now(), at_enable=True)
        self._submit_checks()
        return True

    def disable(self) -> bool:
        """Stop periodic monitoring; work already running finishes (never cut mid-way).

        Pending periodic work is withdrawn, and periodic work running now that
        fails is not retried (the runner asks ``enabled`` before any retry);
        what a user asked for (``runMonitoring``, a call) runs and retries as
        when enabled.
        """
        if not self.alive:
            log.error("Cannot disable monitoring loop. It has already been stopped")
            return False
        with self._state_lock:
            self.enabled = False
        self.credential_check.release_all("monitoring disabled")  # no check runs now to lift a hold
        for op in self.runner.pending():  # after enabled is False: no retry of running work lands after this
            if periodic(op):
                self.runner.cancel(op.key, "monitoring disabled")
        self._write_status_file_safely("disabled")
        return True

    def _write_status_file_safely(self, state: str) -> None:
        """The status file's last word at disable and stop; never a reason for them to fail."""
        try:
            self.write_status_file(state)
        except Exception:  # noqa: BLE001 - a snapshot of a half-stopped component may fail: say so, go on
            log.exception("the final status file (%s) could not be written", state)

    def stop(self) -> None:
        """Stop for good (idempotent): no new work; running work may end within ``shutdown_timeout``
        (``core/draining.py``: said at the prompt while it waits); backends torn down, loop stopped.
        The patches stay: they come off after Ganga's last flush, which follows (patches, item 18)."""
        GangaThread.stop(self)  # makes should_stop() true, as Dirac's code expects
        with self._state_lock:
            if self._stopped:
                return
            self._stopped = True
            self.alive = False
            self.enabled = False
        patches.remove_status_listener(self._on_status_change)
        patches.remove_status_listener(self._on_any_status_change)
        patches.remove_status_listener(self.file_events.on_status)
        patches.remove_status_listener(self.cadence.on_status)
        patches.remove_submission_listener(self.file_events.submission_ended)
        self.file_events.stop()  # its watches and thread: no event asks for work from here on
        patches.remove_user_action_listener(self.requests.on_user_action)
        patches.remove_submission_listener(self._on_submission_end)
        service_events.unsubscribe(self._on_service_retry)
        self.runner.stop()  # nothing more is dispatched; what runs may end
        drain(self.runner.running, self.runner.wait_for_finish, time.monotonic, tell_user,
              float(config.monitoring_option("shutdown_timeout")))
        self._write_status_file_safely("stopped")
        SURVIVORS_FROZEN.stop()
        self.prompt_notice.detach()
        self.pools.shutdown(wait=False)
        for name in self.polling.known_backends():
            try:
                self.polling.tear_down(name)
            except Exception as err:  # noqa: BLE001 - shutdown goes on
                log.error("tearing down monitoring of %s failed: %s", name, err)
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
        # the patches stay for Ganga's last flush, which comes after this stop (patches, item 18)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the loop and dispatcher; never longer than ``shutdown_timeout``."""
        if timeout is None:
            timeout = float(config.monitoring_option("shutdown_timeout"))
        self.runner.join(timeout)
        if self.is_alive() and self is not threading.current_thread():
            GangaThread.join(self, timeout)

    # -- the contract's entry points ---------------------------------------------

    def run_monitoring_task(self, monitoring_task: Any, jobs: Any) -> None:
        """Run a backend's ``updateMonitoringInformation`` for ``jobs``.

        Inside one of our polls (Ganga's ``master_updateMonitoringInformation``
        calls it per master) it becomes update operations of their own,
        run concurrently and waited for by the poll (``runtime/fanout.py``).
        Inside such an update it runs at once.  From another thread (e.g. a
        test's ``run_until_state``) it becomes a user-priority call that
        fans out the same way.  From the loop thread a coroutine becomes a
        loop task, as stock.  Disabled: nothing, as stock.
        """
        parent = self.fanout.current_parent()
        if parent is not None:
            self.polling.fan_out(parent, monitoring_task, list(jobs))
            return
        if self.fanout.inline_here():
            self.polling.call(monitoring_task, jobs)
            return
        if not self.enabled:
            return
        if self.loop._thread_id == threading.get_ident() and asyncio.iscoroutinefunction(monitoring_task):  # type: ignore[attr-defined]
            self.loop.create_task(log_exceptions(monitoring_task(jobs)))
            return
        self.requests.call(monitoring_task, list(jobs))

    def runMonitoring(self, jobs: Any = None, steps: int = 1, timeout: float | None = None,
                      _loadCredentials: bool = False) -> bool:  # noqa: N802 - Ganga's name
        """Poll the given jobs (None: every active job) ``steps`` times, now, and wait.

        Works whether or not periodic monitoring is enabled, and leaves that
        setting as it was.  ``jobs`` may be a job, a job id, a list of either
        or a registry slice.  Returns True when the polls ran, False on
        timeout or when monitoring was stopped.
        """
        if not self.alive:
            log.error("Cannot run the monitoring loop. It has already been stopped")
            return False
        if timeout is None:
            timeout = float(config.monitoring_option("runmonitoring_timeout"))
        self._reconcile_now(recover=False)
        return self.requests.run_monitoring(jobs, steps, timeout)

    def boost_jobs(self, jobs: Any, reason: str, poll: bool = True) -> int:
        """A user acted on ``jobs``: their pending work first (``UserRequests.boost``); 0 once stopped."""
        return self.requests.boost(jobs, reason, poll) if self.alive else 0

    def retry_output(self, jobs: Any = None) -> list[str]:
        """Jobs failed because their output could not be had are monitored again (``UserRequests.retry_output``)."""
        return self.requests.retry_output(jobs)

    def job_progress(self, limit: int = 20) -> tuple[list[JobProgress], int]:
        """Progress of the active split jobs (the first ``limit`` by id), and how many more there are."""
        if self.registry_slice is None:
            return [], 0
        return self.progress.look(limit)

    def _current_update(self) -> Operation | None:
        """The update operation running in this thread, if any (what a backend update call is counted under)."""
        return self.polling.fanout.current_operation()

    def statistics(self, jobs: bool = True, work: bool = True) -> MonitoringSnapshot:
        """What monitoring is doing now, as frozen data (``integration/statistics.py``): what ``queues`` shows."""
        return statistics.monitoring_statistics(self, jobs, work)

    def job_statistics(self, job_id: int, keys: Iterable[JobKey] = ()) -> JobStatistics:
        """What monitoring knows of top-level job ``job_id`` and of ``keys``: what ``queues.why`` says."""
        return statistics.job_statistics(self, job_id, keys)

    # -- the schedule ---------------------------------------------------------------

    def _plan(self, now: float) -> None:
        """Runs on the dispatcher under its lock: only index and scheduler reads."""
        self.prompt_notice.attach_if_possible()
        if not self.enabled:
            return
        result = self.planner.plan(self.index, self.scheduler, now)
        for op in result.operations:
            self.scheduler.submit(op, now)
        known = self.polling.known_backends()
        for backend in result.idle_backends:
            self.cadence.tear_down(backend)
            if backend in known:
                self.scheduler.submit(Operation(
                    key=OpKey.teardown(backend), kind=Kind.CALL, backend=backend,
                    priority=PriorityClass.POLL, due=now,
                    action=functools.partial(self._tear_down_op, backend),
                    description=f"tear down monitoring of {backend}"), now)

    def _periodic_due(self, backend: str, now: float, last_started: float, interval: float) -> float:
        return self.cadence.periodic_due(backend, now, last_started, interval, self._first_poll_delay())

    def _periodic_poll_ended(self, backend: str, started: float) -> None:
        self.cadence.polled(backend, started, config.poll_interval(backend), self._first_poll_delay())

    @staticmethod
    def _first_poll_delay() -> float:
        """No poll of a backend sooner than this after its last (the cadence's ``min_gap``)."""
        return float(config.monitoring_option("first_poll_delay"))

    def _tear_down_op(self, backend: str, _op: Operation) -> None:
        self.polling.tear_down(backend)

    def _adaptive_settings(self, pool: str) -> AdaptiveSettings:
        return AdaptiveSettings(
            enabled=bool(config.monitoring_option("adaptive_concurrency")),
            initial=int(config.monitoring_option("default_backend_concurrency")),
            maximum=self.pools.sizes.get(pool, 1),
            queue_high=float(config.monitoring_option("adaptive_queue_tolerance")),
        )

    def _submit_reconcile(self, recover: bool, due: float, at_enable: bool = False) -> None:
        def action(op: Operation) -> None:
            try:
                self._reconcile_now(recover, check_credentials=at_enable)
            finally:
                if self.enabled:
                    self._submit_reconcile(False, self.clock.now()
                                           + float(config.monitoring_option("reconcile_interval")))

        self.runner.submit(Operation(key=RECONCILE_KEY, kind=Kind.CALL, backend=None,
                                     priority=PriorityClass.USER if at_enable else PriorityClass.QUEUED,
                                     due=due, action=action, description="re-read the job registry"))

    def _submit_checks(self) -> None:
        """The periodic checks: free disk at once, credentials and lost finalisations after one interval.

        (The first credential check runs in the enable-time reconcile, before the first polls.)
        """
        now = self.clock.now()
        checks = [
            (PeriodicCheck("disk-check", "check the free space where outputs go",
                           self.disk_check, config.disk_check_interval), now),
            (PeriodicCheck("credential-check", "check the credentials active jobs need",
                           self._check_credentials, config.credential_check_interval),
             now + config.credential_check_interval()),
            (PeriodicCheck("completing-check", "look for jobs whose finalisation was lost",
                           self._hand_back_stuck_jobs, config.completing_check_interval),
             now + config.completing_check_interval()),
            (PeriodicCheck("status-file", "write the snapshot 'ganga-monitoring status' prints",
                           self.write_status_file, config.status_file_interval, STATUS_FILE_SHARE), now),
            (PeriodicCheck("rollup-check", "check split jobs' counted subjob statuses against a recount",
                           check_counts, config.rollup_check_interval), now + config.rollup_check_interval()),
        ]
        for check, due in checks:
            check.schedule(self.runner, due, lambda: self.enabled)

    # -- the index ---------------------------------------------------------------

    def _on_status_change(self, job: Any, status: str) -> None:
        """Status listener of top-level jobs (runs in whichever thread changed the status, after Ganga's setter
        let the job's lock go: it may run after a later change's listeners)."""
        if self.registry_slice is None or job._getRegistry() is not registry.registry_of(self.registry_slice):
            return
        try:
            job_id = job.id
            backend = registry.job_backend_name(job)
        except Exception:  # noqa: BLE001 - a job being built or removed has no id or backend yet: not tracked
            return
        if status in SUBMISSION_STATES and self.index.get(job_id) is not None and monitored_while_submitted(job):
            return  # a split job being submitted stays polled for its subjobs submitted (_on_any_status_change)
        if backend and self.index.update(job_id, backend, status, self.clock.now()):
            self.runner.wake()
        if backend and status == "failed" and not self.fanout.in_context():
            self.kill_resubmit.soon(backend, job_id)

    def _on_submission_end(self, job: Any) -> None:
        """A split job's ``submit()`` returned (polls left it alone meanwhile): its backend is polled
        ``first_poll_delay`` from now, for the subjobs that ran, or ended, during the submission (a backend
        with a native driver: ``PollPlanner.submission_ended``)."""
        self.pipeline.submission_ended(job)
        if job._getParent() is not None or self.registry_slice is None or not len(job.subjobs):
            return  # an unsplit job's own submission is its newest 'submitted': the planner sees it
        try:
            backend = registry.job_backend_name(job)
        except Exception:  # noqa: BLE001 - a job whose submission failed half-way may have no backend
            return
        if backend:
            self.polling.planner.submission_ended(backend, self.clock.now())
            if patches.rollup_deferred(job):  # it waited for this (patches item 7)
                self.pipeline.rollup(job.id, backend)
            self.runner.wake()

    def _on_service_retry(self, backend: str, error: str) -> None:
        """A client of ``backend`` retried a request on its own (``service_events``): count it."""
        self.runner.note(backend, "request", "retried")
        self.last_service_error[backend] = (self.clock.now(), error)

    def _on_any_status_change(self, job: Any, status: str) -> None:
        """Status listener for every job, subjobs included (runs in the thread that changed it).

        A job finishing inside an update adds a unit to it: its output was
        most likely fetched in that update, whose latency is compared per
        request (``core/adaptive.py``).  A master whose subjob starts
        running is tracked as running: Ganga leaves a master ``submitted``
        while any of its subjobs is, and counted from its submission it
        would be polled as long-queued, at a quarter of its backend's rate.
        """
        if status in FINISHING_STATES:
            update = self.fanout.current_operation()
            if update is not None:
                update.add_units(1)  # this thread is the update's, but a status listener may be another's
        if status == "completed":  # a failed one may have crashed at once (or been forced): no run time
            master = job._getParent()
            ran = run_time(job, "running", datetime.datetime.now(datetime.UTC).replace(tzinfo=None)) \
                if master is not None else None
            if ran is not None:  # what the split job's time left is estimated from (views/progress.py)
                self.progress.note_run_time(master.id, ran)
        if status == "submitted":
            self._poll_during_submission(job)
        if status == "running":
            master = job._getParent()
            if master is not None:
                tracked = self.index.get(master.id)
                if tracked is not None and tracked.status == "submitted":
                    self.index.update(master.id, tracked.backend, "running", self.clock.now())

    def _poll_during_submission(self, subjob: Any) -> None:
        """A subjob was submitted while its master's ``submit()`` still runs: the master is tracked as
        ``submitted`` from now on, so its subjobs already submitted are polled, retrieved and finalised
        while the others are still being submitted (its own status, ``submitting``, is not polled)."""
        master = subjob._getParent()
        if master is None or self.index.get(master.id) is not None or not monitored_while_submitted(master):
            return
        if self.registry_slice is None or master._getRegistry() is not registry.registry_of(self.registry_slice):
            return
        try:
            backend = registry.job_backend_name(master)
        except Exception:  # noqa: BLE001 - a master being built has no backend yet: not tracked
            return
        if backend and self.index.update(master.id, backend, "submitted", self.clock.now()):
            self.runner.wake()

    def _reconcile_now(self, recover: bool, check_credentials: bool = False) -> None:
        if self.registry_slice is None:
            return
        if recover:
            recover_interrupted_jobs(self.registry_slice)
        changed = self.index.replace_all(registry.list_tracked_jobs(self.registry_slice, monitored_while_submitted),
                                         self.clock.now())
        self._forget_failures_of_removed_jobs()
        if check_credentials:
            # at enable, before the first polls are planned: a backend whose credential has
            # expired is held before it is asked anything
            self._check_credentials()
        if changed:
            log.debug("active-job index reconciled: %d change(s)", changed)
            self.runner.wake()

    def _forget_failures_of_removed_jobs(self) -> None:
        """``output_failures`` keeps what monitoring gave up for a job until the job is retried or removed."""
        existing = {stripProxy(job).id for job in registry.resolve_jobs(
            self.registry_slice, {key.top for key, _reason in list(self.output_failures.values())})}
        for fqid, (key, _reason) in list(self.output_failures.items()):
            if key.top not in existing:
                self.output_failures.pop(fqid, None)

    def _tracked_ids(self, backend: str, states: Iterable[str]) -> list[int]:
        """The top-level job ids the index holds for ``backend`` in ``states``."""
        return [t.job_id for status in states for t in self.index.jobs(backend, status)]

    def _top_level_job(self, job_id: int) -> Any | None:
        found = registry.resolve_jobs(self.registry_slice, [job_id])
        return found[0] if found else None

    # -- the checks ------------------------------------------------------------------

    def _hand_back_stuck_jobs(self) -> None:
        """Jobs of backends without a native driver, completing for too long, go back to their monitoring."""
        if self.registry_slice is None:
            return
        timeout = float(config.monitoring_option("completing_timeout"))
        now_utc = datetime.datetime.utcnow()  # Ganga stamps states in naive UTC
        for backend in self.index.backends():
            if self.polling.native_driver(backend) is None:
                ids = self._tracked_ids(backend, ("completing", "running"))
                completing.hand_back_stuck_jobs(registry.resolve_jobs(self.registry_slice, ids), timeout, now_utc)
        self.runner.wake()

    def _check_credentials(self) -> None:
        if self.registry_slice is None:
            return
        # completing jobs count: their downloads need the credential too
        active = {backend: self._tracked_ids(backend, sorted(TRACKED_STATES)) for backend in self.index.backends()}
        self.credential_check.run(active, self._top_level_job)

    def write_status_file(self, state: str | None = None) -> None:
        """Write what ``queues`` shows, and the per-job rows, to ``<gangadir>/monitoring/status.json``
        (``status_file``)."""
        path = config.gangadir()
        if path is None or not os.path.isdir(path):
            return
        snapshot = self.statistics()
        state = state or ("enabled" if snapshot.enabled else "disabled")
        rows, rows_cut = (job_rows.status_file_rows(self, job_table.STATUS_FILE_ROWS)
                          if self.registry_slice is not None else ([], False))
        try:
            status_file.write(path, state, render(snapshot), snapshot.as_dict(), time.time(),
                              [row.as_dict() for row in rows], rows_cut)
        except OSError as err:  # a full disk, a read-only gangadir: the session goes on without it
            log.debug("the status file in %s could not be written: %s", path, err)

    # -- retry policies ----------------------------------------------------------

    @staticmethod
    def retry_policy(kind: Kind) -> RetryPolicy:
        """The retry policy of an operation kind, from the current config.

        A poll gives up after a few attempts (the next periodic poll comes
        anyway); a requested call after a few attempts (someone waits for
        it); output retrieval and finalisation keep trying for
        ``output_retry_for`` seconds, so an outage of the service delays
        jobs but does not fail them.
        """
        wait = wait_exponential_jitter(initial=1, max=float(config.monitoring_option("retry_max_wait")), jitter=1)
        stop: stop_base
        if kind in (Kind.RETRIEVE, Kind.FINALISE):
            stop = stop_after_delay(float(config.monitoring_option("output_retry_for")))
        else:
            attempts_option = "poll_retry_attempts" if kind is Kind.POLL else "call_retry_attempts"
            stop = stop_after_attempt(int(config.monitoring_option(attempts_option)))
        return RetryPolicy(kind.value, wait=wait, stop=stop)

    def __repr__(self) -> str:
        state = "enabled" if self.enabled else ("disabled" if self.alive else "stopped")
        return f"<GangaMonitoring {state} {self.scheduler!r} {self.index!r}>"
