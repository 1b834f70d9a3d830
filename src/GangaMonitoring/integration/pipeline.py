"""What a native driver's jobs go through once polled: the drivers' context (``drivers.base.DriverContext``).

A driver polls its backend and tells this pipeline what it found: a job
finished (:meth:`OutputPipeline.hand_over`: its output is retrieved on the io
pool, unpacked in a worker process and finalised by the driver), a job alone
could not be updated (:meth:`job_failed`: after ``[Monitoring]failing_job_grace``
of that it is marked failed), jobs were updated (:meth:`jobs_fine`), a job
ended in a way its backend's own update cannot see (:meth:`job_ended`).

A subjob whose master's ``submit()`` still runs, on a backend whose
submission judges itself by its subjobs' states
(:data:`SUBMISSION_JUDGED_BY_SUBJOBS`), is finalised meanwhile only if it
``completed``: any other end (failed, killed, given up) is held, the job
left as it is, until that submission returns (:meth:`submission_ended`).

Contract: every job handed over ends in exactly one of three ways: its driver's
``finish`` (its final state), ``failed`` with the reason kept in
:attr:`output_failures` when retrieval or finalisation gives up, or dropped
when the job was removed or changed meanwhile (its files are not left half
written).  In the last two the driver is told to ``release`` the work.  A
subjob's master is rolled up after its final state or its failure.  Jobs are
looked up by key (``(job id, subjob id or None)``), never held across
operations.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.logging import getLogger

from .. import config, patches
from ..core.index import POLLED_STATES
from ..runtime.runner import SchedulerRunner
from ..core.trouble import EndedReasons, TroubledJobs
from ..core.work import Kind, Operation, OpKey, PriorityClass, State
from ..drivers.base import FinishedWork, JobKey, NativeDriver, fqid, job_key
from . import registry
from ..patches.submissions import ACTIVE_SUBJOB_STATES

log = getLogger("GangaMonitoring.component")

UNFINISHED_SUBJOB_STATES = ACTIVE_SUBJOB_STATES | {"new"}
"""A master with a subjob in one of these, once final, was ended by Ganga or its user: not rolled up again."""

GIVEN_UP_GATHER = 1.0
"""Seconds the jobs given up are gathered before one line per top-level job says so."""

SUBMISSION_JUDGED_BY_SUBJOBS = frozenset({"DiracBase"})
"""Backend classes (and their subclasses) whose ``master_submit`` reads its subjobs' states when it ends:
GangaDirac's returns 0, a failed submission, when a subjob is ``failed`` then (and waits for ever for a
block's subjob that is ``killed``), so a subjob ending so on the grid while later blocks are submitted
would fail the whole split job (Ganga then reverts it to ``new``)."""


def submission_judged_by_subjobs(job: Any) -> bool:
    """Does ``job``'s backend judge its submission by its subjobs' states (:data:`SUBMISSION_JUDGED_BY_SUBJOBS`)?"""
    return any(cls.__name__ in SUBMISSION_JUDGED_BY_SUBJOBS for cls in type(stripProxy(job).backend).__mro__)


def judged_submission_of(job: Any) -> Any | None:
    """The master of subjob ``job`` if its ``submit()`` runs and judges itself by its subjobs' states, else None."""
    master = stripProxy(job)._getParent()
    if master is None or not patches.in_submission(master) or not submission_judged_by_subjobs(master):
        return None
    return master



class OutputPipeline:
    """The drivers' context: hand-over, retrieval, finalisation, give-up, roll-up and the trouble of single jobs.

    ``find_job(key)``: the job of a key now (None: gone);
    ``failed_subjob(backend, master id)``: a subjob ended failed (the
    auto-kill policy need not wait for a poll); ``call_inline(task, jobs)``: a
    backend's own update, run now (a coroutine on the component's loop).
    """

    def __init__(self, runner: SchedulerRunner, run_in_process: Callable[..., Any],
                 find_job: Callable[[JobKey], Any | None],
                 failed_subjob: Callable[[str, int], None], call_inline: Callable[[Any, Any], None]) -> None:
        self.runner = runner
        self.clock = runner.clock
        self._run_in_process = run_in_process
        self._find_job = find_job
        self._failed_subjob = failed_subjob
        self._call_inline = call_inline
        self.drivers: dict[str, NativeDriver] = {}
        """backend -> its one driver instance (the component builds it, under its lock)."""
        self.troubled = TroubledJobs()
        self.ended_reasons = EndedReasons()
        """FQID -> why a driver found the job ended (failed, killed) outside its backend's own update."""
        self.output_failures: dict[str, tuple[JobKey, str]] = {}
        """FQID -> (job key, reason) of jobs failed because their output (or their updates) could not
        be had, until retried (``retry_output``) or removed (forgotten at the next reconcile)."""
        self._given_up_lock = threading.Lock()
        self._given_up: dict[int, list[tuple[JobKey, str]]] = {}
        """Top-level job id -> the keys given up (failed after their grace) not said yet."""
        self._held_lock = threading.Lock()
        self._held: dict[int, list[tuple[JobKey, str, Callable[[], None]]]] = {}
        """id() of a master being submitted -> (subjob, the status it ends in, what ends it) of its subjobs'
        ends other than ``completed``, done once its ``submit()`` returns (:meth:`_held_by_submission`),
        in the order they came."""

    # -- DriverContext ------------------------------------------------------------

    def hand_over(self, job: Any, work: FinishedWork) -> None:
        """``job`` finished on its backend; retrieval and finalisation now own it."""
        job.updateStatus("completing", update_master=False)
        driver = self.drivers[work.backend]
        self.runner.submit(
            Operation(key=OpKey.retrieve(work.fqid), kind=Kind.RETRIEVE, backend=work.backend,
                      priority=PriorityClass.FINALISE, due=self.clock.now(),
                      action=lambda _op: self._retrieve(driver, work), job_ids={work.job_key.top},
                      description=f"retrieve output of {work.fqid}"),
            listener=self._give_up_listener(work, "retrieved"))

    def run_stock_update(self, jobs: Sequence[Any]) -> None:
        """The backend's own update for ``jobs`` (a coroutine runs on the loop), here and now."""
        if jobs:
            backend_class = type(stripProxy(jobs[0]).backend)
            self._call_inline(backend_class.updateMonitoringInformation, list(jobs))

    def job_failed(self, job: Any, reason: str) -> None:
        """``job`` alone could not be updated (the service answered for others)."""
        self.note_job_failure(job_key(job), reason)

    def jobs_fine(self, jobs: Iterable[Any]) -> None:
        """These jobs were updated."""
        if len(self.troubled):
            self.troubled.fine(job_key(job) for job in jobs)

    def job_ended(self, job: Any, status: str, reason: str) -> None:
        """The driver found ``job`` ended as ``status`` for ``reason``."""
        key = job_key(job)
        if self._held_by_submission(job, key, status, lambda: self._ended_if_still_polled(job, status, reason)):
            return
        log.warning("job %s: %s; it is now %s", fqid(key), reason, status)
        self.ended_reasons.put(fqid(key), reason)
        job.updateStatus(status, update_master=False)
        if key.sub is not None:
            self.rollup(key.top, registry.job_backend_name(job.master))

    def _ended_if_still_polled(self, job: Any, status: str, reason: str) -> None:
        if registry.job_status(job) in POLLED_STATES:
            self.job_ended(job, status, reason)

    def rollup(self, master_id: int, backend: str | None) -> None:
        """Update a master's status from its subjobs soon: one operation per master, so at most about twice a second.

        A master in a final state with subjobs not final (``new``, active)
        stays as it is: Ganga ended it (a submission that failed half-way
        leaves the subjobs submitted until then active, the rest ``new``; a
        user's kill), and a roll-up would make it ``submitted`` again, or
        ``completed`` once those submitted are.
        """
        def action(_op: Operation) -> None:
            master = self._find_job(JobKey(master_id))
            if master is None:
                return
            if registry.job_status(master) in registry.FINAL_STATES and \
                    UNFINISHED_SUBJOB_STATES & set(master.getSubJobStatuses()):
                log.debug("job %d ended with subjobs not final: not rolled up", master_id)
                return
            master.updateMasterJobStatus()

        self.runner.submit(Operation(key=OpKey.rollup(master_id), kind=Kind.CALL, backend=backend,
                                     priority=PriorityClass.FINALISE, due=self.clock.now() + 0.5,
                                     action=action, job_ids={master_id},
                                     description=f"update master job {master_id} from its subjobs"))

    # -- the trouble of single jobs -------------------------------------------------

    def note_job_failure(self, key: JobKey, error: str) -> None:
        """A job failing on its own: after ``failing_job_grace`` seconds of it, it is marked failed."""
        trouble = self.troubled.note(key, error, self.clock.now())
        grace = config.failing_job_grace()
        failing_for = self.clock.now() - trouble.since
        if failing_for < grace:
            log.debug("job %s could not be updated (%d time(s) in %.0f s): %s", fqid(key), trouble.failures,
                      failing_for, error)
            return
        job = self._find_job(key)
        if job is not None and key.sub is not None and judged_submission_of(job) is not None:
            return  # kept: the next failure after the submission marks it (_held_by_submission)
        self.troubled.forget(key)
        if job is None or registry.job_status(job) not in POLLED_STATES:
            return
        reason = (f"monitoring gave up: every update of it failed for {failing_for:.0f} s "
                  f"([Monitoring]failing_job_grace), while its backend answered for other jobs; last: {error}")
        self.output_failures[fqid(key)] = (key, reason)
        job.updateStatus("failed", update_master=False)
        self._say_given_up(key, reason)
        if key.sub is not None:
            self.rollup(key.top, registry.job_backend_name(job.master))

    def _say_given_up(self, key: JobKey, reason: str) -> None:
        """One line per top-level job for the jobs given up within ``GIVEN_UP_GATHER`` seconds of each other
        (a split job's subjobs end their grace together: 2,000 lines would bury the prompt)."""
        with self._given_up_lock:
            first = not self._given_up
            self._given_up.setdefault(key.top, []).append((key, reason))
        if first:
            self.runner.submit(Operation(key=OpKey.session("given-up"), kind=Kind.CALL, backend=None,
                                         priority=PriorityClass.FINALISE, due=self.clock.now() + GIVEN_UP_GATHER,
                                         action=lambda _op: self._report_given_up(),
                                         description="say which jobs were marked failed"))

    def _report_given_up(self) -> None:
        with self._given_up_lock:
            given_up, self._given_up = self._given_up, {}
        for top, keys in sorted(given_up.items()):
            subjobs = sorted(k.sub for k, _ in keys if k.sub is not None)
            who = (f"job {top}" if not subjobs else
                   f"job {top}: {len(subjobs)} subjob{'' if len(subjobs) == 1 else 's'} "
                   f"({', '.join(f'{top}.{n}' for n in subjobs[:5])}{', ...' if len(subjobs) > 5 else ''})")
            # on a line of its own: at an idle prompt the line would follow the prompt's text
            log.error("\n%s marked failed: %s. queues.why(%d) says more; queues.retry(%d) tries again.",
                      who, keys[-1][1], top, top)

    # -- retrieval and finalisation -------------------------------------------------

    def _retrieve(self, driver: NativeDriver, work: FinishedWork) -> None:
        if self._owned_job(work) is None:
            return
        path = driver.retrieve(work)
        self._submit_finalise(driver, work, path)

    def _submit_finalise(self, driver: NativeDriver, work: FinishedWork, path: str) -> None:
        self.runner.submit(
            Operation(key=OpKey.finalise(work.fqid), kind=Kind.FINALISE, backend=work.backend,
                      priority=PriorityClass.FINALISE, due=self.clock.now(),
                      action=lambda _op: self._finalise(driver, work, path), job_ids={work.job_key.top},
                      description=f"finalise {work.fqid}"),
            listener=self._give_up_listener(work, "finalised"))

    def _finalise(self, driver: NativeDriver, work: FinishedWork, path: str) -> None:
        owned = self._owned_job(work)
        if owned is None:
            discard(path, work.outputdir)
            return
        if self._held_by_submission(owned, work.job_key, work.final_status,
                                    lambda: self._submit_finalise(driver, work, path)):
            return  # stays completing, its output kept
        files = self._run_in_process(driver.unpack, work, path,
                                     timeout=float(config.monitoring_option("call_timeout")))
        job = self._owned_job(work)
        if job is None:  # removed while we unpacked: leave nothing of it behind
            shutil.rmtree(work.outputdir, ignore_errors=True)
            return
        driver.finish(job, work, files)
        if work.job_key.sub is not None:
            self.rollup(work.job_key.top, work.backend)
            if work.final_status == "failed":
                self._failed_subjob(work.backend, work.job_key.top)

    def _owned_job(self, work: FinishedWork) -> Any | None:
        """The job ``work`` is for, if it still exists and is still ours to finalise."""
        job = self._find_job(work.job_key)
        if job is None or job.status != "completing":
            log.info("job %s was removed or changed while its output was handled; dropping that work",
                     work.fqid)
            self._release(work)
            return None
        return job

    def _release(self, work: FinishedWork) -> None:
        """``work`` ends without its driver's ``finish``: the driver forgets what it kept for it."""
        driver = self.drivers.get(work.backend)
        if driver is not None:
            driver.release(work)

    def _give_up_listener(self, work: FinishedWork, step: str) -> Any:
        """When retrieval or finalisation gives up, the job ends ``failed`` with the reason logged."""
        def listener(op: Operation) -> None:
            if op.state is not State.DONE or not op.last_error:
                return
            self._release(work)
            job = self._find_job(work.job_key)
            if job is None or job.status != "completing":
                return
            if self._held_by_submission(job, work.job_key, "failed", lambda: listener(op)):
                return
            log.error("the output of job %s could not be %s after %d attempt(s): %s. The job is marked "
                      "failed; queues.retry(j) tries again (or resubmit it).", work.fqid, step, op.attempts,
                      op.last_error)
            self.output_failures[work.fqid] = (work.job_key, f"output not {step}: {op.last_error}")
            job.updateStatus("failed", update_master=False)
            if work.job_key.sub is not None:
                self.rollup(work.job_key.top, work.backend)
        return listener


    # -- ends held while a submission judges itself by its subjobs ----------------------

    def _held_by_submission(self, job: Any, key: JobKey, status: str, then: Callable[[], None]) -> bool:
        """If subjob ``job`` (``key``) would end ``status`` (not ``completed``) while its master's judged
        submission runs (:func:`judged_submission_of`): ``then`` is kept for :meth:`submission_ended`;
        True.  Else False (an unsplit job never waits).

        Asked under the lock :meth:`submission_ended` takes: patches item 7 forgets a submission before
        its listeners run, so an end kept here is always found by the listener of its master's end.
        """
        if status == "completed" or key.sub is None:
            return False
        with self._held_lock:
            master = judged_submission_of(job)
            if master is None:
                return False
            self._held.setdefault(id(master), []).append((key, status, then))
        log.debug("job %s ends %s after its master's submission (it judges itself by its subjobs)",
                  fqid(key), status)
        return True

    def submission_ended(self, master: Any) -> None:
        """``master``'s ``submit()`` returned (a submission listener): the ends held for it go on, in one
        operation (a submission listener runs in the submitting thread: ``submit()`` does not wait for them)."""
        with self._held_lock:
            held = self._held.pop(id(master), [])
        if not held:
            return
        master_id = master.id

        def action(_op: Operation) -> None:
            for _key, _status, then in held:
                try:
                    then()
                except Exception:  # noqa: BLE001 - one job's end must not stop the others'
                    log.exception("a subjob end held during the submission of job %s failed", master_id)

        self.runner.submit(Operation(key=OpKey.held_ends(master_id), kind=Kind.CALL,
                                     backend=registry.job_backend_name(master), priority=PriorityClass.FINALISE,
                                     due=self.clock.now(), action=action, job_ids={master_id},
                                     description=f"end {len(held)} subjob(s) of job {master_id} held during "
                                                 "its submission"))

    def held(self) -> int:
        """How many subjob ends wait for their master's submission to return."""
        with self._held_lock:
            return sum(len(v) for v in self._held.values())

    def held_end(self, key: JobKey) -> str | None:
        """The status subjob ``key`` ends in once its master's submission returns (None: nothing held)."""
        with self._held_lock:
            ends = [status for held in self._held.values() for k, status, _then in held if k == key]
        return ends[-1] if ends else None


def discard(path: str, outputdir: str) -> None:
    """Remove a retrieved file nobody wants, and the output dir if that leaves it empty."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
    with contextlib.suppress(OSError):  # not empty, or already gone: leave it
        os.rmdir(outputdir)
