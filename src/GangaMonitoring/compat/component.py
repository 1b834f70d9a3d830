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

Threads: this object *is* the GangaThread that runs the asyncio loop (as
stock, for coroutine backends and Dirac's tasks); a dispatcher thread runs
the scheduler; the pools run the work.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import logging
import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterable

from GangaCore.Core.GangaThread import GangaThread
from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.logging import getLogger
from tenacity import stop_after_attempt, stop_after_delay, wait_exponential_jitter
from tenacity.stop import stop_base

from .. import config, introspect, service_events, status_file
from .._core.adaptive import AdaptiveSettings, ConcurrencyLimits
from .._core.breaker import LOCAL_DISK, BreakerBoard, BreakerSettings
from .._core.bugs import own_bug
from .._core.clock import Clock, SystemClock
from .._core.fanout import UPDATE, Child, FanOut, JobKey, Parent
from .._core.index import FINALISING_STATES, POLLED_STATES, TRACKED_STATES, ActiveJobIndex
from .._core.isolate import CallBudget, Isolated, isolate
from .._core.trouble import EndedReasons, TroubledJobs
from .._core.planner import POLL, POLL_NEW, POLL_QUEUED, PlannerSettings, PollPlanner
from .._core.pools import Pools
from .._core.retry import BackendPollFailed, PollFailed, RetryPolicy, TransientError, is_backend_fault
from .._core.runner import SchedulerRunner
from .._core.scheduler import Scheduler
from .._core.work import Kind, Operation, PriorityClass
from ..drivers import make_native_driver
from ..drivers.base import NativeDriver, job_key
from ..drivers.compat import CompatDriver
from . import completing, patches, policies, registry
from .checks import FreeDiskCheck, PeriodicCheck
from .loop import ThreadSafeEventLoop, cancel_and_close, log_exceptions
from .pipeline import OutputPipeline
from .credentials import CredentialCheck
from .prompt import PromptNotice

log = getLogger("GangaMonitoring.component")

RECONCILE_KEY = ("reconcile",)


MAX_ISOLATING_CALLS = 40
"""Calls one poll may spend isolating bad jobs; the jobs left unresolved wait for the next poll."""
POLICY_INTERVAL = 10.0
"""Seconds between two auto-kill/resubmit checks of one job after its polls."""
FINISHING_STATES = frozenset({"completing", "completed", "failed", "killed"})
PROGRESS_SPAN_S = 300.0
"""A split job's pace is measured over this many seconds (or since monitoring first looked at it)."""
MIN_PACE_SPAN_S = 2.0
"""No pace from counts closer in time than this."""


@dataclass
class BackendPollRecord:
    """How the polls of one backend went (for ``queues``): times on the component's clock."""

    backend: str
    polls: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_started: float | None = None
    last_duration: float | None = None
    last_jobs: int = 0
    last_error: str | None = None
    last_ok_started: float | None = None
    """When the last poll that succeeded began (a failed poll looked at nothing)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def finished(self, started: float, ended: float, jobs: int, error: str | None) -> None:
        """Polls of one backend may end at once (periodic, requested): updated under a lock."""
        with self._lock:
            self.polls += 1
            self.last_started, self.last_duration, self.last_jobs = started, ended - started, jobs
            if error is None:
                self.consecutive_failures = 0
                self.last_ok_started = started
            else:
                self.failures += 1
                self.consecutive_failures += 1
                self.last_error = error

PERIODIC_GROUPS = (POLL, POLL_QUEUED, POLL_NEW, RECONCILE_KEY[0], "disk-check", "credential-check", "completing-check",
                   "status-file")


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
        self.pools = Pools(sizes, self.clock, log_file=_ganga_log_file(),
                           log_level=logging.getLogger("GangaMonitoring").getEffectiveLevel())
        self.scheduler = Scheduler(
            {name: self.pools.sizes[name] for name in ("poll", "io", "cpu")},
            aging_seconds=config.monitoring_option("aging_seconds"),
            limits=ConcurrencyLimits(config.fixed_backend_concurrency, self._adaptive_settings),
            breakers=BreakerBoard(_breaker_settings),
        )
        self.planner = PollPlanner(self._planner_settings, self._poll_action)
        self.runner = SchedulerRunner(self.scheduler, self.pools, self.clock, self.retry_policy,
                                      plan=self._plan)
        self.fanout = FanOut(self.runner, self.clock, call=self._call_inline, identify=job_key,
                             on_child_done=self._on_update_done, on_outcomes=self._job_outcomes,
                             service_fault=_service_fault)
        self.pipeline = OutputPipeline(self.runner, self.pools.run_in_process,
                                       lambda key: registry.find_job(self.registry_slice, key),
                                       rollup=self._schedule_rollup, failed_subjob=self._submit_policies,
                                       call_inline=self._call_inline)
        """The native drivers' context: hand-over, retrieval, finalisation, the trouble of single jobs."""
        self.driver = CompatDriver()
        self.backend_classes: dict[str, type] = {}
        self._drivers_lock = threading.Lock()
        self.poll_records: dict[str, BackendPollRecord] = {}
        self.prompt_notice = PromptNotice(self)
        self._state_lock = threading.RLock()
        self._enabled_once = False
        self._stopped = False
        self._policies_checked: dict[int, float] = {}
        """job id -> when its auto-kill/resubmit policies were last checked (``_apply_policies``)."""
        self._policies_pruned_at = -math.inf
        self.disk_check = FreeDiskCheck(functools.partial(self.runner.hold, LOCAL_DISK),
                                        functools.partial(self.runner.release, LOCAL_DISK), _existing_gangadir,
                                        lambda: float(config.monitoring_option("min_free_disk_mb")))
        """Holds retrieval and finalisation before the disk where outputs go is full."""
        self.credential_check = CredentialCheck(self.runner.hold, self.runner.release)
        self._progress_lock = threading.Lock()
        self._final_samples: dict[int, deque[tuple[float, int]]] = {}
        """master id -> (when, how many of its subjobs were final) at each look, over the last minutes."""
        self.last_service_error: dict[str, tuple[float, str]] = {}
        """backend -> (when, what) of the last error one of its clients retried (``service_events``)."""
        patches.add_status_listener(self._on_status_change)
        patches.add_status_listener(self._on_any_status_change, subjobs=True)

    @property
    def native_drivers(self) -> dict[str, NativeDriver]:
        """backend -> its one driver instance, polled concurrently (built under ``_drivers_lock``)."""
        return self.pipeline.drivers

    @property
    def troubled(self) -> TroubledJobs:
        return self.pipeline.troubled

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
        patches.lock_free_reads()
        patches.cached_logger_names()
        patches.flush_costs_what_changed()
        patches.bounded_lock_holds()
        patches.fast_xml_saves()
        patches.slices_from_templates()
        patches.master_work_once()
        patches.subjob_statuses_counted()
        patches.plain_stack_traces()
        service_events.subscribe(self._on_service_retry)
        patches.offload_postprocessing(self.pools.run_in_process)
        patches.add_user_action_listener(self._on_user_action)

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
        """Stop periodic monitoring; work already running finishes (never cut mid-way)."""
        if not self.alive:
            log.error("Cannot disable monitoring loop. It has already been stopped")
            return False
        with self._state_lock:
            self.enabled = False
        self.credential_check.release_all("monitoring disabled")  # no check runs now to lift a hold
        for op in self.runner.pending():
            if op.key[0] in (*PERIODIC_GROUPS, UPDATE) and op.priority is not PriorityClass.USER:
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
        """Stop for good (idempotent): no new work, backends torn down, loop stopped."""
        GangaThread.stop(self)  # makes should_stop() true, as Dirac's code expects
        with self._state_lock:
            if self._stopped:
                return
            self._stopped = True
            self.alive = False
            self.enabled = False
        patches.remove_status_listener(self._on_status_change)
        patches.remove_status_listener(self._on_any_status_change)
        patches.remove_user_action_listener(self._on_user_action)
        service_events.unsubscribe(self._on_service_retry)
        self._write_status_file_safely("stopped")
        self.prompt_notice.detach()
        self.runner.stop()
        self.pools.shutdown(wait=False)
        for name in set(self.backend_classes) | set(self.native_drivers):
            try:
                self._tear_down(name)
            except Exception as err:  # noqa: BLE001 - shutdown goes on
                log.error("tearing down monitoring of %s failed: %s", name, err)
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
        patches.remove()

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
        run concurrently and waited for by the poll (``_core/fanout.py``).
        Inside such an update it runs at once.  From another thread (e.g. a
        test's ``run_until_state``) it becomes a user-priority call that
        fans out the same way.  From the loop thread a coroutine becomes a
        loop task, as stock.  Disabled: nothing, as stock.
        """
        parent = self.fanout.current_parent()
        if parent is not None:
            self._fan_out(parent, monitoring_task, list(jobs))
            return
        if self.fanout.inline_here():
            self._call_inline(monitoring_task, jobs)
            return
        if not self.enabled:
            return
        if self.loop._thread_id == threading.get_ident() and asyncio.iscoroutinefunction(monitoring_task):  # type: ignore[attr-defined]
            self.loop.create_task(log_exceptions(monitoring_task(jobs)))
            return
        job_list = list(jobs)
        fqids = tuple(sorted(stripProxy(j).getFQID(".") for j in job_list))
        name = getattr(monitoring_task, "__qualname__", repr(monitoring_task))
        backend = _backend_of(job_list)

        chunkable = bool(job_list) and self.driver.chunkable(self.driver.backend_class(job_list[0]))

        def action(op: Operation) -> None:
            deadline = self.clock.now() + float(config.monitoring_option("call_timeout"))
            with self.fanout.parent(op, backend, deadline=deadline, chunk_size=_chunk_size() if chunkable else None,
                                    budget=CallBudget(MAX_ISOLATING_CALLS)) as fan:
                self._fan_out(fan, monitoring_task, job_list)
            self._fan_in(fan)

        op = Operation(key=("call", name, fqids), kind=Kind.CALL, backend=backend,
                       priority=PriorityClass.USER, due=self.clock.now(), action=action,
                       job_ids=_top_level_ids(job_list), description=f"{name} for {len(job_list)} job(s)")
        self.runner.submit(op)

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
        deadline = self.clock.now() + timeout
        self._reconcile_now(recover=False)
        if jobs is not None:
            self.boost_jobs(jobs, "runMonitoring(jobs=...)", poll=False)
        for _ in range(max(1, int(steps))):
            waits = [self._request_poll(backend, ids, jobs is None)
                     for backend, ids in self._requested_by_backend(jobs).items()]
            for done in waits:
                remaining = self.clock.time_until(deadline)
                if not done.wait(remaining):
                    log.warning("runMonitoring: timed out after %.0f s", timeout)
                    return False
        return True

    def boost_jobs(self, jobs: Any, reason: str, poll: bool = True) -> int:
        """A user acted on ``jobs``: their pending work moves to the front of the queues.

        Waiting retrievals, finalisations and calls for those jobs become
        user-class work due now.  With ``poll``, an active job that has no
        such work gets a poll of its own (not waited for), so ``j.peek()`` on
        a running job also refreshes its status.  Returns how many operations
        were boosted or submitted.
        """
        if not self.alive:
            return 0
        try:
            ids = _top_level_ids(_as_job_list(jobs, self.registry_slice))
        except Exception as err:  # noqa: BLE001 - a hook must never break the user's action
            log.debug("cannot boost %r: %s", jobs, err)
            return 0
        boosted = self.runner.boost(lambda op: bool(op.job_ids & ids), reason)
        covered = set().union(*(op.job_ids for op in boosted)) if boosted else set()
        polls = 0
        if poll:
            for backend, wanted in self._active_by_backend(ids - covered).items():
                self.runner.submit(self._user_poll(backend, ("poll-jobs", backend, frozenset(wanted)),
                                                   self._poll_ids_action(backend, wanted), wanted))
                polls += 1
        return len(boosted) + polls

    def _on_user_action(self, job: Any, action: str) -> None:
        """Listener: the user called ``action`` (``peek``, ``getOutputSandbox``, ...) on ``job``."""
        raw = stripProxy(job)
        if self.registry_slice is None or raw._getRegistry() is not _registry_of(self.registry_slice):
            return
        self.boost_jobs([raw], f"the user called {action}()")

    def _active_by_backend(self, ids: set[int]) -> dict[str, set[int]]:
        grouped: dict[str, set[int]] = {}
        for job_id in ids:
            tracked = self.index.get(job_id)
            if tracked is not None and tracked.status in ("submitted", "running"):
                grouped.setdefault(tracked.backend, set()).add(job_id)
        return grouped

    # -- requests ----------------------------------------------------------------

    def _requested_by_backend(self, jobs: Any) -> dict[str, set[int]]:
        wanted = None if jobs is None else _top_level_ids(_as_job_list(jobs, self.registry_slice))
        grouped: dict[str, set[int]] = {}
        for backend in self.index.polled_backends():
            for status in ("submitted", "running"):
                for tracked in self.index.jobs(backend, status):
                    if wanted is None or tracked.job_id in wanted:
                        grouped.setdefault(backend, set()).add(tracked.job_id)
        return grouped

    def _request_poll(self, backend: str, ids: set[int], everything: bool) -> threading.Event:
        """Submit a user-priority poll and return an event set when it ran."""
        done = threading.Event()
        if everything:
            keys = [(POLL, backend), (POLL_QUEUED, backend)]
            pending = len(keys)
            lock = threading.Lock()

            def one_done(_op: Operation) -> None:
                nonlocal pending
                with lock:
                    pending -= 1
                    if pending == 0:
                        done.set()

            for group in (POLL, POLL_QUEUED):
                self.runner.submit(self._user_poll(backend, (group, backend), self._poll_action(backend, group), ids),
                                   listener=one_done)
            return done
        key = ("poll-jobs", backend, frozenset(ids))
        self.runner.submit(self._user_poll(backend, key, self._poll_ids_action(backend, ids), ids),
                           listener=lambda _op: done.set())
        return done

    def _user_poll(self, backend: str, key: tuple[Any, ...], action: Any, ids: set[int]) -> Operation:
        return Operation(key=key, kind=Kind.POLL, backend=backend, priority=PriorityClass.USER,
                         due=self.clock.now(), action=action, job_ids=set(ids),
                         description=f"requested poll of {len(ids)} {backend} job(s)")

    # -- polling -----------------------------------------------------------------

    def _plan(self, now: float) -> None:
        """Runs on the dispatcher under its lock: only index and scheduler reads."""
        self.prompt_notice.attach_if_possible()
        if not self.enabled:
            return
        result = self.planner.plan(self.index, self.scheduler, now)
        for op in result.operations:
            self.scheduler.submit(op, now)
        for backend in result.idle_backends:
            if backend in self.backend_classes or backend in self.native_drivers:
                self.scheduler.submit(Operation(
                    key=("teardown", backend), kind=Kind.CALL, backend=backend,
                    priority=PriorityClass.POLL, due=now,
                    action=functools.partial(self._tear_down_op, backend),
                    description=f"tear down monitoring of {backend}"), now)

    def _tear_down_op(self, backend: str, _op: Operation) -> None:
        self._tear_down(backend)

    def _tear_down(self, backend: str) -> None:
        backend_class = self.backend_classes.pop(backend, None)
        if backend_class is not None:
            self.driver.tear_down(backend_class)
        native = self.native_drivers.get(backend)
        if native is not None:
            native.tear_down()

    def _adaptive_settings(self, pool: str) -> AdaptiveSettings:
        return AdaptiveSettings(
            enabled=bool(config.monitoring_option("adaptive_concurrency")),
            initial=int(config.monitoring_option("default_backend_concurrency")),
            maximum=self.pools.sizes.get(pool, 1),
            queue_high=float(config.monitoring_option("adaptive_queue_tolerance")),
        )

    def _planner_settings(self) -> PlannerSettings:
        return PlannerSettings(
            interval_for=config.poll_interval,
            long_queued_after=float(config.monitoring_option("long_queued_after")),
            queued_interval_factor=float(config.monitoring_option("queued_interval_factor")),
            first_poll_delay=float(config.monitoring_option("first_poll_delay")),
            new_jobs_apart=lambda backend: self._native_driver(backend) is None,
        )

    def _poll_action(self, backend: str, group: str) -> Any:
        def action(op: Operation) -> None:
            if group == POLL_NEW:  # jobs submitted since the backend's last poll began
                since = self.planner.new_since(backend)
                ids = [t.job_id for t in self.index.jobs(backend, "submitted") if since is None or t.since > since]
                op.job_ids = set(ids)
                self._poll_jobs(op, backend, ids, scope=POLL)
                return
            cutoff = self.clock.now() - float(config.monitoring_option("long_queued_after"))
            ids = [t.job_id for t in self.index.jobs(backend, "running")] if group == POLL else []
            for tracked in self.index.jobs(backend, "submitted"):
                if (tracked.since > cutoff) == (group == POLL):
                    ids.append(tracked.job_id)
            op.job_ids = set(ids)
            self._poll_jobs(op, backend, ids, scope=group)
        return action

    def _poll_ids_action(self, backend: str, ids: Iterable[int]) -> Any:
        wanted = list(ids)

        def action(op: Operation) -> None:
            self._poll_jobs(op, backend, wanted, scope="requested")
        return action

    def _poll_jobs(self, op: Operation, backend: str, ids: list[int], scope: str = "") -> None:
        # a job whose submit() still runs is Ganga's until it returns (patches item 7)
        jobs = [j for j in registry.resolve_jobs(self.registry_slice, ids)
                if registry.job_status(j) in POLLED_STATES and not patches.in_submission(j)]
        record = self.poll_records.setdefault(backend, BackendPollRecord(backend))
        started = self.clock.now()
        try:
            self._poll_with_driver(op, backend, jobs, scope)
        except Exception as err:
            record.finished(started, self.clock.now(), len(jobs), f"{type(err).__name__}: {err}")
            raise
        finally:
            self._apply_policies(jobs)
        record.finished(started, self.clock.now(), len(jobs), None)

    def _apply_policies(self, jobs: Iterable[Any], force: bool = False) -> None:
        """autoKillThreshold and auto-resubmit (see ``policies``), after a poll, in the poll's own operation.

        A job is checked at most every POLICY_INTERVAL seconds (counting a
        master's subjobs costs as much as a poll), unless ``force``: it just failed.
        """
        now = self.clock.now()
        self._forget_old_policy_checks(now)
        for job in jobs:
            job_id = stripProxy(job).id
            if not force and now - self._policies_checked.get(job_id, -POLICY_INTERVAL) < POLICY_INTERVAL:
                continue
            self._policies_checked[job_id] = now
            try:
                done = policies.apply_policies(job)
            except Exception as err:  # noqa: BLE001 - one job's policy must not fail the poll
                log.warning("automatic kill/resubmit check of job %s failed: %s", stripProxy(job).id, err)
                continue
            if done:
                log.debug("job %s: %s by the monitoring policies", stripProxy(job).id, done)

    def _forget_old_policy_checks(self, now: float) -> None:
        """Keep only checks of the last POLICY_INTERVAL (an older one no longer defers a check).

        Done at most once an interval, so the record holds the jobs checked
        in the last two intervals, not every job the session ever checked.
        """
        if now - self._policies_pruned_at < POLICY_INTERVAL:
            return
        self._policies_pruned_at = now
        self._policies_checked = {job_id: at for job_id, at in self._policies_checked.items()
                                  if now - at < POLICY_INTERVAL}

    def _submit_policies(self, backend: str, job_id: int) -> None:
        """A top-level job turned failed outside a poll (finalisation): check its policies soon."""
        def action(_op: Operation) -> None:
            self._apply_policies(registry.resolve_jobs(self.registry_slice, [job_id]), force=True)

        self.runner.submit(Operation(key=("policies", job_id), kind=Kind.CALL, backend=backend,
                                     priority=PriorityClass.FINALISE, due=self.clock.now() + 0.5, action=action,
                                     job_ids={job_id}, description=f"auto-kill/resubmit check of job {job_id}"))

    def _poll_with_driver(self, op: Operation, backend: str, jobs: list[Any], scope: str) -> None:
        native = self._native_driver(backend)
        if native is not None:
            self._poll_native(native, jobs, scope)
            return
        if not jobs:
            return
        backend_class = self.driver.backend_class(jobs[0])
        budget = CallBudget(MAX_ISOLATING_CALLS)
        with self.fanout.parent(op, backend, deadline=self._update_deadline(backend, scope),
                                chunk_size=_chunk_size() if self.driver.chunkable(backend_class) else None,
                                budget=budget) as fan:
            # bisected: a backend's own master_updateMonitoringInformation may raise for one job
            top = isolate(lambda batch: self.driver.poll(batch), jobs, budget, bug=own_bug)
        self._fan_in(fan, top)
        if top.succeeded:
            self.backend_classes[backend] = backend_class

    def _update_deadline(self, backend: str, scope: str) -> float:
        """How long a poll waits for its updates: one interval of its group, or a requested call's timeout.

        Updates still running then go on alone; the next poll skips their jobs.
        """
        settings = self._planner_settings()
        if scope == POLL:
            wait = settings.interval_for(backend)
        elif scope == POLL_QUEUED:
            wait = settings.interval_for(backend) * settings.queued_interval_factor
        else:
            wait = float(config.monitoring_option("call_timeout"))
        return self.clock.now() + wait

    def _fan_out(self, parent: Parent, task: Any, jobs: list[Any]) -> None:
        """A nested ``run_monitoring_task`` inside a poll (or a requested call): update operations.

        A call for no job is made at once, here (a task may do backend-wide work).
        """
        if not jobs:
            with self.fanout.inline():
                self._call_inline(task, jobs)
            return
        self.fanout.add(parent, task, jobs)

    def _fan_in(self, parent: Parent, top: Isolated[Any] | None = None) -> None:
        """Wait for a parent's updates; raise when some jobs could not be updated.

        The breaker counts the parent, once: ``BackendPollFailed`` when no
        call succeeded (the service itself fails), else ``PollFailed``.
        """
        ended = self.fanout.wait(parent)
        if parent.own or parent.joined:
            parent.op.units = 0  # its children are the latency samples
        failed = parent.failures()
        messages = [f"{_describe_batch(batch)}: {type(e).__name__}: {e}" for batch, e in (top.failures if top else [])]
        messages += [c.detail or c.error or "" for c in failed]
        if not ended:
            log.debug("%s: %d update(s) still running at its deadline go on alone", parent.op.description,
                      sum(1 for c in parent.children() if not c.done.is_set()))
        if not messages:
            return
        nothing_worked = (top is not None and not top.succeeded) or (
            bool(parent.own) and all(c.done.is_set() and c.service_down for c in parent.own))
        error = BackendPollFailed if nothing_worked else PollFailed
        count = (top.failed_items if top else 0) + sum(c.failed_jobs or len(c.jobs) for c in failed)
        raise error(f"{count} {parent.backend} job(s) could not be updated: {'; '.join(messages[:5])}")

    def _job_outcomes(self, fine: list[JobKey], alone: list[tuple[JobKey, str]]) -> None:
        """After an update: jobs updated are fine again; a job that failed alone is noted (see ``trouble``)."""
        self.pipeline.troubled.fine(fine)
        for key, error in alone:
            self.pipeline.note_job_failure(key, error)

    def _on_update_done(self, child: Child, op: Operation) -> None:
        """An update operation ended: masters whose subjobs it updated are rolled up soon."""
        for master_id in {top for top, sub in child.jobs if sub is not None}:
            self._schedule_rollup(master_id, op.backend)

    # -- native drivers: poll, then retrieve and finalise per job -------------------

    def _native_driver(self, backend: str) -> NativeDriver | None:
        """The backend's one driver (None: it has none, or native drivers are off).

        Two first polls of a backend at once get the same instance: a driver
        keeps state between its poll and the work it hands over (Dirac's
        handed-over jobs), which ``hand_over`` finds through this dict.
        """
        if not config.monitoring_option("native_drivers"):
            return None
        driver = self.native_drivers.get(backend)
        if driver is None:
            with self._drivers_lock:
                driver = self.native_drivers.get(backend)
                if driver is None:
                    driver = make_native_driver(backend)
                    if driver is not None:
                        self.native_drivers[backend] = driver
        return driver

    def _poll_native(self, driver: NativeDriver, top_jobs: list[Any], scope: str) -> None:
        jobs, masters = registry.expand_subjobs(top_jobs, POLLED_STATES)
        try:
            driver.poll(jobs, self.pipeline, scope)
        finally:
            for master in masters:
                self._schedule_rollup(master.id, driver.backend)

    def retry_output(self, jobs: Any = None) -> list[str]:
        """Jobs that failed only because their output could not be had go back to ``running``.

        Their backend is then polled, reports them finished again, and
        retrieval and finalisation run once more.  ``jobs``: a job, an id or a
        list (None: every such job).  Returns the FQIDs put back.
        """
        wanted = None if jobs is None else _top_level_ids(_as_job_list(jobs, self.registry_slice))
        retried = []
        for fqid, (key, _reason) in list(self.output_failures.items()):
            if wanted is not None and key[0] not in wanted:
                continue
            job = registry.find_job(self.registry_slice, key)
            del self.output_failures[fqid]
            if job is None or job.status != "failed":
                continue
            job.status = "running"
            retried.append(fqid)
            if key[1] is not None:
                master = registry.find_job(self.registry_slice, (key[0], None))
                if master is not None and master.status in ("failed", "completed", "killed"):
                    master.status = "running"  # Ganga forbids failed -> running; tracked and polled again
        if retried:
            log.info("retrying the output of %d job(s): %s", len(retried), ", ".join(retried[:10]))
            self.runner.wake()
        return retried

    def _schedule_rollup(self, master_id: int, backend: str) -> None:
        """Update a master's status from its subjobs, at most about twice a second."""
        def rollup(_op: Operation) -> None:
            master = registry.find_job(self.registry_slice, (master_id, None))
            if master is not None:
                master.updateMasterJobStatus()

        self.runner.submit(Operation(key=("rollup", master_id), kind=Kind.CALL, backend=backend,
                                     priority=PriorityClass.FINALISE, due=self.clock.now() + 0.5,
                                     action=rollup, job_ids={master_id},
                                     description=f"update master job {master_id} from its subjobs"))

    def _call_inline(self, task: Any, jobs: Any) -> None:
        timeout = float(config.monitoring_option("call_timeout"))
        if asyncio.iscoroutinefunction(task):
            future = asyncio.run_coroutine_threadsafe(task(jobs), self.loop)
            try:
                future.result(timeout)
            except TimeoutError as err:
                future.cancel()
                raise TransientError(f"{getattr(task, '__qualname__', task)} took over {timeout:.0f}s") from err
        else:
            task(jobs=jobs)

    # -- the index ---------------------------------------------------------------

    def _on_status_change(self, job: Any, status: str) -> None:
        """Status listener (runs in whichever thread changed the status)."""
        if self.registry_slice is None or job._getRegistry() is not _registry_of(self.registry_slice):
            return
        try:
            job_id = job.id
            backend = registry.job_backend_name(job)
        except Exception:  # noqa: BLE001 - a job being built or removed
            return
        if backend and self.index.update(job_id, backend, status, self.clock.now()):
            self.runner.wake()
        if backend and status == "failed" and not self.fanout.in_context():
            self._submit_policies(backend, job_id)

    def _on_service_retry(self, backend: str, error: str) -> None:
        """A client of ``backend`` retried a request on its own (``service_events``): count it."""
        self.runner.note(backend, "request", "retried")
        self.last_service_error[backend] = (self.clock.now(), error)

    def _on_any_status_change(self, job: Any, status: str) -> None:
        """Status listener for every job, subjobs included (runs in the thread that changed it).

        A job finishing inside an update adds a unit to it: its output was
        most likely fetched in that update, whose latency is compared per
        request (``_core/adaptive.py``).  A master whose subjob starts
        running is tracked as running: Ganga leaves a master ``submitted``
        while any of its subjobs is, and counted from its submission it
        would be polled as long-queued, at a quarter of its backend's rate.
        """
        if status in FINISHING_STATES:
            update = self.fanout.current_operation()
            if update is not None:
                update.units += 1
        if status == "running":
            master = job._getParent()
            if master is not None:
                tracked = self.index.get(master.id)
                if tracked is not None and tracked.status == "submitted":
                    self.index.update(master.id, tracked.backend, "running", self.clock.now())

    def _submit_reconcile(self, recover: bool, due: float, at_enable: bool = False) -> None:
        def action(op: Operation) -> None:
            try:
                self._reconcile_now(recover, check_credentials=at_enable)
            finally:
                if self.enabled:
                    self._submit_reconcile(False, self.clock.now()
                                           + float(config.monitoring_option("reconcile_interval")))

        self.runner.submit(Operation(key=RECONCILE_KEY, kind=Kind.CALL, backend="(registry)",
                                     priority=PriorityClass.USER if at_enable else PriorityClass.QUEUED,
                                     due=due, action=action, description="re-read the job registry"))

    def _submit_checks(self) -> None:
        """The periodic checks: free disk at once, credentials and lost finalisations after one interval.

        (The first credential check runs in the enable-time reconcile, before the first polls.)
        """
        now = self.clock.now()
        checks = [
            (PeriodicCheck("disk-check", LOCAL_DISK, "check the free space where outputs go",
                           self.disk_check, _disk_check_interval), now),
            (PeriodicCheck("credential-check", "(credentials)", "check the credentials active jobs need",
                           self._check_credentials, config.credential_check_interval),
             now + config.credential_check_interval()),
            (PeriodicCheck("completing-check", "(registry)", "look for jobs whose finalisation was lost",
                           self._hand_back_stuck_jobs, _completing_check_interval), now + _completing_check_interval()),
            (PeriodicCheck("status-file", "(registry)", "write the snapshot 'ganga-monitoring status' prints",
                           self.write_status_file, _status_file_interval), now),
        ]
        for check, due in checks:
            check.schedule(self.runner, due, lambda: self.enabled)

    def _hand_back_stuck_jobs(self) -> None:
        """Jobs of backends without a native driver, completing for too long, go back to their monitoring."""
        if self.registry_slice is None:
            return
        timeout = float(config.monitoring_option("completing_timeout"))
        now_utc = datetime.datetime.utcnow()  # Ganga stamps states in naive UTC
        for backend in self.index.backends():
            if self._native_driver(backend) is not None:
                continue
            ids = self._tracked_ids(backend, ("completing", "running"))
            for top in registry.resolve_jobs(self.registry_slice, ids):
                try:
                    candidates = [top, *_completing_subjobs(top)]
                    for job, age in completing.stuck_jobs(candidates, timeout, now_utc):
                        completing.hand_back(job, age)
                except Exception as err:  # noqa: BLE001 - one broken job must not stop the check
                    log.warning("could not check job %s for a lost finalisation: %s", stripProxy(top).id, err)
        self.runner.wake()

    def _check_credentials(self) -> None:
        if self.registry_slice is None:
            return
        # completing jobs count: their downloads need the credential too
        active = {backend: self._tracked_ids(backend, sorted(TRACKED_STATES)) for backend in self.index.backends()}
        self.credential_check.run(active, self._top_level_job)

    def _tracked_ids(self, backend: str, states: Iterable[str]) -> list[int]:
        """The top-level job ids the index holds for ``backend`` in ``states``."""
        return [t.job_id for status in states for t in self.index.jobs(backend, status)]

    def _top_level_job(self, job_id: int) -> Any | None:
        found = registry.resolve_jobs(self.registry_slice, [job_id])
        return found[0] if found else None

    def job_progress(self, limit: int = 20) -> tuple[list[introspect.JobProgress], int]:
        """Progress of the active split jobs (the first ``limit`` by id), and how many more there are.

        Subjob states come from memory or Ganga's subjob cache (nothing is
        loaded from disk).  The pace compares the number of final subjobs now
        with the oldest count of the last ``PROGRESS_SPAN_S`` (each call keeps
        one; the status file calls every few seconds), so a subjob resubmitted
        or reported twice is never counted twice; the ETA assumes the pace holds.
        """
        if self.registry_slice is None:
            return [], 0
        now = self.clock.now()
        found: list[introspect.JobProgress] = []
        masters: set[int] = set()
        for entry in sorted(self.index.entries(), key=lambda e: e.job_id):
            job = self._top_level_job(entry.job_id)
            try:
                if job is None or not len(job.subjobs):
                    continue
                masters.add(entry.job_id)
                if len(found) >= limit:
                    continue
                states, _ = policies.subjob_states(job)
            except Exception as err:  # noqa: BLE001 - removed or unreadable while we looked: show the rest
                log.debug("progress of job %s could not be read: %s", entry.job_id, err)
                continue
            final = sum(n for state, n in states.items() if state in policies.FINAL)
            since, then = self._pace_sample(entry.job_id, now, final)
            finished = max(0, final - then)
            rate = finished / (now - since) if now - since >= MIN_PACE_SPAN_S else 0.0
            active = sum(states.values()) - final
            found.append(introspect.JobProgress(
                job_id=entry.job_id, backend=entry.backend, subjobs=sum(states.values()), states=dict(states),
                finished_recently=finished, rate_per_min=60 * rate,
                eta_s=active / rate if rate > 0 and active else None))
        with self._progress_lock:
            for gone in set(self._final_samples) - masters:
                del self._final_samples[gone]
        return found, len(masters) - len(found)

    def _pace_sample(self, job_id: int, now: float, final: int) -> tuple[float, int]:
        """Keep (now, final) for ``job_id``; return its oldest sample of the last ``PROGRESS_SPAN_S``."""
        with self._progress_lock:
            samples = self._final_samples.setdefault(job_id, deque())
            if not samples or now - samples[-1][0] >= 1.0:
                samples.append((now, final))
            while len(samples) > 1 and now - samples[1][0] >= PROGRESS_SPAN_S:
                samples.popleft()
            return samples[0]

    def write_status_file(self, state: str | None = None) -> None:
        """Write what ``queues`` shows to ``<gangadir>/monitoring/status.json`` (``status_file``)."""
        path = _gangadir()
        if path is None or not os.path.isdir(path):
            return
        snapshot = introspect.take_snapshot(self)
        state = state or ("enabled" if snapshot.enabled else "disabled")
        try:
            status_file.write(path, state, introspect.render(snapshot), snapshot.as_dict(), time.time())
        except OSError as err:  # a full disk, a read-only gangadir: the session goes on without it
            log.debug("the status file in %s could not be written: %s", path, err)

    def _reconcile_now(self, recover: bool, check_credentials: bool = False) -> None:
        if self.registry_slice is None:
            return
        if recover:
            self._recover_interrupted_jobs()
        changed = self.index.replace_all(registry.list_tracked_jobs(self.registry_slice),
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
            self.registry_slice, {key[0] for key, _reason in list(self.output_failures.values())})}
        for fqid, (key, _reason) in list(self.output_failures.items()):
            if key[0] not in existing:
                self.output_failures.pop(fqid, None)

    def _recover_interrupted_jobs(self) -> None:
        """Jobs left ``completing`` by a previous session go back to ``running``.

        Unfinished jobs are read from disk first: after a killed session
        their index cache may be stale (see ``registry.load_if_unfinished``).

        Their backend then reports them finished again and finalisation runs
        again.  Unlike stock, no output directory is deleted: a finalisation
        that completes rewrites what it needs, and a good output survives.
        """
        for job_id, job in registry.iter_top_level_jobs(self.registry_slice):
            try:
                registry.load_if_unfinished(job)
                status = registry.job_status(job)
                if status not in FINALISING_STATES and status not in ("running", "submitted"):
                    continue
                for sub in _completing_subjobs(job):
                    log.info("job %s was completing when Ganga stopped; monitoring it again",
                             sub.getFQID("."))
                    sub.status = "running"
                if status in FINALISING_STATES:
                    log.info("job %s was completing when Ganga stopped; monitoring it again", job_id)
                    stripProxy(job).status = "running"
            except Exception as err:  # noqa: BLE001 - one broken job must not stop recovery
                log.warning("could not check job %s for interrupted finalisation: %s", job_id, err)

    # -- policies ----------------------------------------------------------------

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


def _gangadir() -> str | None:
    try:
        from GangaCore.Utility.Config import getConfig

        return os.path.expanduser(str(getConfig("Configuration")["gangadir"]))
    except Exception:  # noqa: BLE001 - no Ganga config
        return None


def _existing_gangadir() -> str | None:
    path = _gangadir()
    return path if path is not None and os.path.isdir(path) else None


def _ganga_log_file() -> str | None:
    """Ganga's log file (``[Logging]_logfile``), where worker processes log too."""
    try:
        from GangaCore.Utility.Config import getConfig

        return os.path.expanduser(str(getConfig("Logging")["_logfile"])) or None
    except Exception:  # noqa: BLE001 - no Ganga config (a bare component in a test): workers stay quiet
        return None


def _breaker_settings() -> BreakerSettings:
    return BreakerSettings(failures_to_open=int(config.monitoring_option("breaker_failures")),
                           first_probe_after=float(config.monitoring_option("breaker_first_probe")),
                           max_probe_interval=float(config.monitoring_option("breaker_max_probe")))


def _describe_batch(batch: list[Any]) -> str:
    ids = [stripProxy(j).id for j in batch]
    return f"job {ids[0]}" if len(ids) == 1 else f"{len(ids)} jobs ({ids[0]}..{ids[-1]})"


def _registry_of(registry_slice: Any) -> Any:
    return getattr(registry_slice, "objects", registry_slice)


def _as_job_list(jobs: Any, registry_slice: Any) -> list[Any]:
    """Accept a job, an id, a list of either, or a registry slice."""
    if isinstance(jobs, (int, str)) or hasattr(stripProxy(jobs), "getFQID"):
        jobs = [jobs]
    result = []
    for item in jobs:
        if isinstance(item, int):
            found = registry.resolve_jobs(registry_slice, [item])
            result.extend(found)
        else:
            result.append(stripProxy(item))
    return result


def _top_level_ids(jobs: Iterable[Any]) -> set[int]:
    ids = set()
    for job in jobs:
        raw = stripProxy(job)
        master = raw.master
        ids.add((master if master is not None else raw).id)
    return ids


def _service_fault(error: BaseException) -> bool:
    """Does ``error`` from a backend's update say its service is unwell?  Ganga's ``JobError`` says a job is."""
    from GangaCore.GPIDev.Lib.Job.Job import JobError

    return not isinstance(error, JobError) and is_backend_fault(error)


def _chunk_size() -> int | None:
    size = int(config.monitoring_option("compat_chunk_size"))
    return size if size > 0 else None


def _backend_of(jobs: list[Any]) -> str:
    if not jobs:
        return "(none)"
    raw = stripProxy(jobs[0])
    top = raw.master if raw.master is not None else raw
    return registry.job_backend_name(top) or "(unknown)"


def _status_file_interval() -> float:
    return float(config.monitoring_option("status_file_interval"))


def _disk_check_interval() -> float:
    return float(config.monitoring_option("disk_check_interval"))


def _completing_check_interval() -> float:
    """Seconds between two looks for lost finalisations: a quarter of the timeout, between 1 s and 60 s."""
    return min(60.0, max(1.0, float(config.monitoring_option("completing_timeout")) / 4))


def _completing_subjobs(job: Any) -> list[Any]:
    """Subjobs in a finalising state, found without loading masters that have none."""
    raw = stripProxy(job)
    cache = raw._index_cache if isinstance(raw._index_cache, dict) else {}
    if "subjobs" not in raw._data and not FINALISING_STATES & set(cache.get("subjobs:status", ())):
        return []
    subjobs = raw.subjobs
    if not len(subjobs):
        return []
    cached = getattr(subjobs, "getAllCachedData", None)
    if cached is not None:
        return [subjobs[i] for i, entry in enumerate(cached()) if entry.get("status") in FINALISING_STATES]
    return [sj for sj in subjobs if sj.status in FINALISING_STATES]
