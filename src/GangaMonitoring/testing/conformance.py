"""The driver conformance kit: what a Ganga user relies on of any native driver, checked without Ganga.

A driver author describes their backend as a :class:`Scenario`: how to
make a job the service runs, one it says completed, one it does not know,
and (optionally) how to end a running one.  Then either every check at once::

    check_driver(MyDriver, MyScenario())   # raises ConformanceError naming each check that failed

or, under pytest, one test per check::

    class TestMyDriver(DriverConformance):
        def make_driver(self) -> NativeDriver:
            return MyDriver()

        def make_scenario(self) -> Scenario:
            return MyScenario()

Each check (:data:`CHECKS`) takes a fresh driver and fresh :class:`FakeJob`\\ s
with output directories in a temporary directory of their own, drives the
driver as the component does (polls, some of them at once; retrieve, unpack,
finish; release) with a :class:`RecordingContext`, and raises
:class:`ConformanceError` saying which promise of ``docs/drivers.md`` the
driver broke.  A check that does not apply to the driver (the hand-over
checks for a driver whose jobs end in place) raises :class:`NotApplicable`.
"""

from __future__ import annotations

import abc
import contextlib
import itertools
import os
import pickle
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

from ..core.retry import Fault, PollFailed, fault_of
from ..drivers.base import FinishedWork, NativeDriver, job_key
from .fakes import FakeJob, RecordingContext, StockUpdateRefused

RUNNING = "running"
"""The service runs the job; Ganga still says ``submitted``, so the driver moves it to ``running``."""
DONE = "done"
"""The service says the job completed; Ganga says ``running``: the driver hands it over (or ends it in place)."""
UNKNOWN = "unknown"
"""The service does not know the job (it forgot it, or never had it); Ganga says ``running``."""

GANGA_STATUS = {RUNNING: "submitted", DONE: "running", UNKNOWN: "running"}
"""The Ganga status a job of each scenario state has when the check first polls it."""

OVERLAP_WAIT = 2.0
"""Seconds a poll waits, in the middle of a hand-over, for a poll that overlaps it (a driver may serialise them)."""

MakeDriver = Callable[[], NativeDriver]


class ConformanceError(AssertionError):
    """The driver broke a promise the component (and so a Ganga user) relies on."""

    def __init__(self, message: str, failures: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.failures = failures or {}
        """From :func:`check_driver`: the name of each check that failed, and why."""


class NotApplicable(Exception):  # noqa: N818 - a check's outcome, not an error
    """The check does not apply to this driver or scenario (pytest skips it)."""


class Scenario(abc.ABC):
    """The driver author's side of the kit: a backend whose jobs are in states the checks ask for.

    The service may be a fake in this process or a real one on this machine
    (``tests/drivers/test_driver_conformance.py`` runs the SimGrid driver
    against the simulator on 127.0.0.1).  A scenario is used by one check at
    a time; :meth:`close` is called after it.
    """

    hands_over: ClassVar[bool] = True
    """The driver hands finished jobs over for retrieval (False: they end in place, as a batch system's do)."""
    reports_unknown_jobs: ClassVar[bool] = True
    """The driver tells ``ctx.job_failed`` of a job the service does not know (False: it leaves such a job to
    the backend's own update, as ``BatchDriver`` does)."""

    @abc.abstractmethod
    def backend(self, state: str) -> Any:
        """A new job's backend object (what ``job.backend`` is), the service holding the job in ``state``
        (:data:`RUNNING`, :data:`DONE` or :data:`UNKNOWN`).  Every call is a job of its own."""

    def end(self, job: FakeJob) -> None:
        """Make the service say that ``job`` (one of :data:`RUNNING`) ended, in any final state.

        Optional: without it the check of per-scope state is not applicable.
        """
        raise NotImplementedError

    def stock_update(self, jobs: Sequence[Any]) -> None:
        """What the backend's own ``updateMonitoringInformation`` does to ``jobs``, for a driver that runs it
        (``ctx.run_stock_update``).  By default a driver may not run it."""
        raise StockUpdateRefused(f"the driver ran the backend's own update on {len(jobs)} job(s); give the "
                                 "scenario a stock_update if it should")

    def close(self) -> None:  # noqa: B027 - optional hook: most scenarios hold nothing
        """Release what the scenario holds (called after each check)."""


class _Bench:
    """One check's jobs, each with an output directory in a temporary directory of the check's own."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.root = tempfile.mkdtemp(prefix="gm-conformance-")
        self._ids = itertools.count(1)

    def job(self, state: str, master: FakeJob | None = None) -> FakeJob:
        job_id = next(self._ids)
        fqid = str(job_id) if master is None else f"{master.getFQID('.')}.{job_id}"
        outputdir = os.path.join(self.root, fqid, "output")
        os.makedirs(outputdir)  # Ganga makes it at submission
        return FakeJob(job_id, self.scenario.backend(state), GANGA_STATUS[state], master, outputdir)

    def master(self) -> FakeJob:
        """A split job's master: never polled, ``running`` while its subjobs are."""
        job_id = next(self._ids)
        return FakeJob(job_id, None, "running", None, os.path.join(self.root, str(job_id), "output"))

    def context(self, on_hand_over: Callable[[Any, FinishedWork], None] | None = None) -> RecordingContext:
        return RecordingContext(stock_update=self.scenario.stock_update, on_hand_over=on_hand_over)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _poll(driver: NativeDriver, jobs: Sequence[FakeJob], ctx: RecordingContext, scope: str = "",
          some_jobs_may_fail: bool = False) -> PollFailed | None:
    """Poll as the component does; returns the ``PollFailed`` it raised, when ``some_jobs_may_fail`` allows one.

    Any other error fails the check: the component retries it and, unless it is
    a ``PollFailed`` of some jobs, counts it against the backend's breaker.
    """
    try:
        driver.poll(list(jobs), ctx, scope)
    except PollFailed as err:
        if some_jobs_may_fail and fault_of(err) is Fault.JOB:
            return err
        raise ConformanceError(f"poll({_names(jobs)}) raised {type(err).__name__}: {err}") from err
    except Exception as err:  # noqa: BLE001 - every error is the finding
        raise ConformanceError(f"poll({_names(jobs)}) raised {type(err).__name__}: {err}; the component counts "
                               "it as the backend's fault (one job's trouble goes to ctx.job_failed, and at "
                               "most a PollFailed is raised)") from err
    return None


def _names(jobs: Sequence[FakeJob]) -> str:
    return "[" + ", ".join(f"{job.getFQID('.')} {job.status}" for job in jobs) + "]"


def _hands_over(scenario: Scenario) -> None:
    if not scenario.hands_over:
        raise NotApplicable("the scenario says the driver hands no job over (its jobs end in place)")


def _handed_work(driver: NativeDriver, bench: _Bench, job: FakeJob, ctx: RecordingContext) -> FinishedWork:
    """Poll ``job`` (one of DONE) until handed over; returns its work."""
    _poll(driver, [job], ctx)
    fqid = job.getFQID(".")
    if fqid not in ctx.handed:
        raise ConformanceError(f"job {fqid}, which the service says completed, was not handed over by a poll "
                               f"(failed: {ctx.failed.get(fqid)}, ended: {ctx.ended.get(fqid)})")
    return ctx.work[ctx.handed.index(fqid)]


def _finalise(driver: NativeDriver, job: FakeJob, work: FinishedWork) -> None:
    """Retrieve, unpack and finish as the pipeline does (unpack in this process, not a worker's)."""
    path = driver.retrieve(work)
    files = driver.unpack(work, path)
    driver.finish(job, work, files)


# -- the checks ----------------------------------------------------------------------------------


def check_empty_poll(make_driver: MakeDriver, scenario: Scenario) -> None:
    """A poll of no jobs raises nothing and tells nothing (a poll group can be empty by the time it runs)."""
    bench = _Bench(scenario)
    try:
        ctx = bench.context()
        _poll(make_driver(), [], ctx)
        if ctx.handed or ctx.failed or ctx.ended:
            raise ConformanceError(f"a poll of no jobs told of jobs: handed {ctx.handed}, failed {ctx.failed}, "
                                   f"ended {ctx.ended}")
    finally:
        bench.close()


def check_hand_over_once(make_driver: MakeDriver, scenario: Scenario) -> None:
    """A finished job is handed over exactly once, even when polls overlap.

    One driver instance is polled by several threads at once (one per
    scope).  A poll that read the job before another poll handed it over
    finds it ``completing`` when it applies what the service said: the job
    belongs to the pipeline, and a second hand-over would retrieve and
    finalise it twice.  Checked with a poll of another scope run in the
    middle of the first poll's hand-over, then a poll of the same scope after.
    """
    _hands_over(scenario)
    bench, driver = _Bench(scenario), make_driver()
    try:
        job = bench.job(DONE)
        overlapping: list[threading.Thread] = []
        errors: list[BaseException] = []

        def second_poll() -> None:
            try:
                _poll(driver, [job], ctx, "overlapping")
            except BaseException as err:  # noqa: BLE001 - reported by the check's thread
                errors.append(err)

        def overlap(handed: Any, _work: FinishedWork) -> None:
            if handed is job and not overlapping:
                thread = threading.Thread(target=second_poll, name="conformance-overlapping-poll", daemon=True)
                overlapping.append(thread)
                thread.start()
                thread.join(OVERLAP_WAIT)  # a driver that serialises its polls runs it once this one is done

        ctx = bench.context(on_hand_over=overlap)
        _poll(driver, [job], ctx, "first")
        for thread in overlapping:
            thread.join(60)
            if thread.is_alive():
                raise ConformanceError("a poll overlapping another's hand-over did not end within 60 s (deadlock?)")
        if errors:
            raise errors[0]
        _poll(driver, [job], ctx, "first")  # one that took its jobs before the hand-over, and applies after
        handed = ctx.handed.count(job.getFQID("."))
        if handed != 1:
            raise ConformanceError(f"a finished job was handed over {handed} times by three polls, two of them "
                                   "after it went completing; a completing job belongs to the pipeline")
        if job.changes != ["completing"]:
            raise ConformanceError(f"a poll changed a handed-over (completing) job: its changes were {job.changes}")
    finally:
        bench.close()


def check_finished_work_is_plain_data(make_driver: MakeDriver, scenario: Scenario) -> None:
    """The hand-over describes its job as plain, picklable data, and ``unpack`` pickles by name.

    Work finds its job again by ``job_key`` (the user may remove the job
    meanwhile), crosses threads, and ``unpack`` runs in a worker process.
    """
    _hands_over(scenario)
    bench, driver = _Bench(scenario), make_driver()
    try:
        master = bench.master()
        sub = bench.job(DONE, master)
        work = _handed_work(driver, bench, sub, bench.context())
        expected = {"job_key": job_key(sub), "fqid": sub.getFQID("."), "backend": driver.backend,
                    "outputdir": sub.outputdir, "final_status": "completed"}
        wrong = {name: getattr(work, name) for name, value in expected.items() if getattr(work, name) != value}
        if wrong:
            raise ConformanceError(f"the work handed over for subjob {sub.getFQID('.')} says {wrong}; expected "
                                   f"{ {name: expected[name] for name in wrong} }")
        try:
            if pickle.loads(pickle.dumps(work)) != work:
                raise ConformanceError(f"the work handed over is not the same once unpickled: {work}")
        except (pickle.PicklingError, TypeError, AttributeError) as err:
            raise ConformanceError(f"the work handed over does not pickle ({err}): {work}") from err
        try:
            pickle.dumps(driver.unpack)
        except (pickle.PicklingError, TypeError, AttributeError) as err:
            raise ConformanceError(f"the driver's unpack ({driver.unpack!r}) does not pickle by name, so it "
                                   f"cannot run in a worker process: {err}") from err
    finally:
        bench.close()


def check_unknown_job_is_that_jobs_trouble(make_driver: MakeDriver, scenario: Scenario) -> None:
    """A job the service does not know is reported for that job alone, never raised as the backend's fault.

    Raised as a plain error from ``poll``, it would count against the
    backend's breaker at every poll (five open it: every job of the backend
    held) and no job of the poll would be updated.
    """
    bench, driver = _Bench(scenario), make_driver()
    try:
        lost, known = bench.job(UNKNOWN), bench.job(RUNNING)
        ctx = bench.context()
        _poll(driver, [lost, known], ctx, some_jobs_may_fail=True)
        fqid = lost.getFQID(".")
        if scenario.reports_unknown_jobs and fqid not in ctx.failed:
            raise ConformanceError(f"job {fqid}, which the service does not know, was not told to "
                                   "ctx.job_failed (after a grace it would be marked failed)")
        if lost.updates or fqid in ctx.handed or fqid in ctx.ended:
            raise ConformanceError(f"a poll changed job {fqid}, which the service does not know: changes "
                                   f"{lost.changes}, handed {fqid in ctx.handed}, ended {ctx.ended.get(fqid)}")
        if known.status != "running" or known.getFQID(".") in ctx.failed:
            raise ConformanceError(f"the job the service knows was not updated beside the unknown one: it is "
                                   f"{known.status}, failed: {ctx.failed.get(known.getFQID('.'))}")
    finally:
        bench.close()


def check_bad_job_is_that_jobs_trouble(make_driver: MakeDriver, scenario: Scenario) -> None:
    """A job that refuses its new state (Ganga's ``JobStatusError``) is reported alone; the others are updated.

    Its error goes to ``ctx.job_failed``; the poll raises at most a
    ``PollFailed`` (which no breaker counts).
    """
    bench, driver = _Bench(scenario), make_driver()
    try:
        bad, good = bench.job(RUNNING), bench.job(RUNNING)
        jobs = [bad, good]
        if scenario.hands_over:
            jobs += [bench.job(DONE), bench.job(DONE)]
        for job in jobs[::2]:
            job.broken = "its record refuses the change"
        ctx = bench.context()
        _poll(driver, jobs, ctx, some_jobs_may_fail=True)
        untold = [job.getFQID(".") for job in jobs[::2] if job.getFQID(".") not in ctx.failed]
        if untold:
            raise ConformanceError(f"job(s) {untold}, whose update raised, were not told to ctx.job_failed")
        if good.status != "running":
            raise ConformanceError(f"a job polled with a bad one was not updated: it is {good.status}")
        if scenario.hands_over and jobs[3].getFQID(".") not in ctx.handed:
            raise ConformanceError("a finished job polled with a bad one was not handed over")
    finally:
        bench.close()


def check_subjobs_leave_their_master(make_driver: MakeDriver, scenario: Scenario) -> None:
    """A subjob's state is set with ``update_master=False``, in ``poll`` and in ``finish``.

    Ganga's default rolls the master up from all its subjobs at each
    change: O(n²) for a split job of n subjobs.  The pipeline rolls each
    master up itself.
    """
    bench, driver = _Bench(scenario), make_driver()
    try:
        master = bench.master()
        subs = [bench.job(RUNNING, master), *([bench.job(DONE, master)] if scenario.hands_over else [])]
        ctx = bench.context()
        _poll(driver, subs, ctx)
        if subs[0].status != "running":
            raise ConformanceError(f"subjob {subs[0].getFQID('.')}, which the service runs, is {subs[0].status}")
        if scenario.hands_over:
            done = subs[1]
            if done.getFQID(".") not in ctx.handed:
                raise ConformanceError(f"subjob {done.getFQID('.')}, which the service says completed, was not "
                                       "handed over")
            work = ctx.work[ctx.handed.index(done.getFQID("."))]
            _finalise(driver, done, work)
            if done.status != work.final_status:
                raise ConformanceError(f"finish left subjob {done.getFQID('.')} {done.status}, not "
                                       f"{work.final_status}")
        rolled = [f"{sub.getFQID('.')} -> {update.status}" for sub in subs for update in sub.updates
                  if update.update_master]
        if rolled or master.updates:
            raise ConformanceError(f"subjob states were set with update_master=True: {rolled or master.changes}")
    finally:
        bench.close()


class _Crash(BaseException):
    """The session dies here (raised where a file would be renamed into place)."""


@contextlib.contextmanager
def _renames_crash() -> Iterator[None]:
    names = ("replace", "rename")
    saved = {name: getattr(os, name) for name in names}

    def crash(*_args: Any, **_kwargs: Any) -> None:
        raise _Crash()

    for name in names:
        setattr(os, name, crash)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(os, name, function)


def _paths_under(directory: str) -> set[str]:
    found = {os.path.abspath(directory)}
    for parent, dirs, files in os.walk(directory):
        found.update(os.path.abspath(os.path.join(parent, name)) for name in dirs + files)
    return found


def check_retrieve_leaves_no_half_file(make_driver: MakeDriver, scenario: Scenario) -> None:
    """``retrieve`` writes under a temp name and renames: a session killed mid-download leaves no half file.

    Checked by a retrieval killed where it would rename: nothing may lie
    under the name ``retrieve`` returns (which the next session would take
    for a whole download), and a retrieval after it must work.
    """
    _hands_over(scenario)
    bench, driver = _Bench(scenario), make_driver()
    try:
        job = bench.job(DONE)
        work = _handed_work(driver, bench, job, bench.context())
        crashed = False
        with _renames_crash():
            try:
                driver.retrieve(work)
            except _Crash:
                crashed = True
        left = _paths_under(os.path.dirname(job.outputdir))
        path = os.path.abspath(driver.retrieve(work))
        if not crashed:
            raise ConformanceError(f"retrieve renamed nothing into place: {path} was written under its final "
                                   "name, so a session killed while writing it leaves half of it")
        if path in left:
            raise ConformanceError(f"{path}, which retrieve returns, existed before retrieve renamed anything "
                                   "into place: a session killed there leaves it half written")
    finally:
        bench.close()


def check_release_forgets_the_job(make_driver: MakeDriver, scenario: Scenario) -> None:
    """``release(work)`` forgets what the driver kept of the job: retried, the job is handed over again.

    When the pipeline gives up on a job's output it marks the job failed
    and releases its work; ``queues.retry(j)`` then sets it back to
    ``running``, and the next poll must hand it over again.
    """
    _hands_over(scenario)
    bench, driver = _Bench(scenario), make_driver()
    try:
        job = bench.job(DONE)
        ctx = bench.context()
        work = _handed_work(driver, bench, job, ctx)
        _poll(driver, [job], ctx)  # while its retrieval is retried
        job.updateStatus("failed", update_master=False)  # the pipeline gave up
        driver.release(work)
        job.status = "running"  # queues.retry(j)
        _poll(driver, [job], ctx)
        handed = ctx.handed.count(job.getFQID("."))
        if handed != 2:
            raise ConformanceError(f"a job handed over, polled while completing, released and put back to "
                                   f"running was handed over {handed} times in all, not twice (once before its "
                                   "release, once by the poll after it)")
    finally:
        bench.close()


def _contents(directory: str) -> dict[str, bytes]:
    found = {}
    for parent, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(parent, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, directory)] = handle.read()
    return found


def check_finalising_twice_is_harmless(make_driver: MakeDriver, scenario: Scenario) -> None:
    """Retrieve, unpack and finish run again on a finalised job do no harm.

    A session killed after ``finish`` but before Ganga wrote the job to disk
    finds it unfinished at its restart and finalises it again: the same
    outcome, the same output files, nothing raised.
    """
    _hands_over(scenario)
    bench, driver = _Bench(scenario), make_driver()
    try:
        job = bench.job(DONE)
        work = _handed_work(driver, bench, job, bench.context())
        _finalise(driver, job, work)
        if job.status != work.final_status:
            raise ConformanceError(f"finish left the job {job.status}, not {work.final_status}")
        output = _contents(job.outputdir)
        job.status = "completing"  # as the next session finds it
        try:
            _finalise(driver, job, work)
        except Exception as err:  # noqa: BLE001 - the finding
            raise ConformanceError(f"finalising a job a second time raised {type(err).__name__}: {err}") from err
        if job.status != work.final_status:
            raise ConformanceError(f"finalised again, the job is {job.status}, not {work.final_status}")
        again = _contents(job.outputdir)
        if again != output:
            changed = sorted(name for name in output.keys() | again.keys() if output.get(name) != again.get(name))
            raise ConformanceError(f"finalising the job again changed its output files: {changed}")
    finally:
        bench.close()


def check_scopes_keep_their_own_state(make_driver: MakeDriver, scenario: Scenario) -> None:
    """Polls of different scopes keep their own incremental state: no change is lost to another scope's poll.

    Two jobs in two scopes, each polled once; both end; the second scope
    is polled first, and the first scope's poll must still see its job end
    (a changed-since cursor shared between scopes would have moved past it).
    """
    bench, driver = _Bench(scenario), make_driver()
    try:
        one, two = bench.job(RUNNING), bench.job(RUNNING)
        ctx = bench.context()
        _poll(driver, [one], ctx, "one")
        _poll(driver, [two], ctx, "two")
        try:
            scenario.end(one)
        except NotImplementedError:
            raise NotApplicable("the scenario cannot end a running job (Scenario.end)") from None
        scenario.end(two)
        _poll(driver, [two], ctx, "two")
        _poll(driver, [one], ctx, "one")
        missed = [job.getFQID(".") for job in (one, two) if job.status in ("submitted", "running")]
        if missed:
            raise ConformanceError(f"job(s) {missed} ended on the service, and their scope's next poll left "
                                   "them active: a poll of another scope took the change")
    finally:
        bench.close()


CHECKS: dict[str, Callable[[MakeDriver, Scenario], None]] = {
    "empty_poll": check_empty_poll,
    "hand_over_once": check_hand_over_once,
    "finished_work_is_plain_data": check_finished_work_is_plain_data,
    "unknown_job_is_that_jobs_trouble": check_unknown_job_is_that_jobs_trouble,
    "bad_job_is_that_jobs_trouble": check_bad_job_is_that_jobs_trouble,
    "subjobs_leave_their_master": check_subjobs_leave_their_master,
    "retrieve_leaves_no_half_file": check_retrieve_leaves_no_half_file,
    "release_forgets_the_job": check_release_forgets_the_job,
    "finalising_twice_is_harmless": check_finalising_twice_is_harmless,
    "scopes_keep_their_own_state": check_scopes_keep_their_own_state,
}
"""Every check, by name: what ``check_driver`` runs and ``DriverConformance`` has one test for."""


def check_driver(make_driver: MakeDriver, scenario: Scenario | Callable[[], Scenario],
                 checks: Sequence[str] | None = None) -> dict[str, str]:
    """Run ``checks`` (default: all of :data:`CHECKS`) on drivers from ``make_driver``.

    ``scenario``: a :class:`Scenario`, or a callable making a new one per
    check.  Returns each check's outcome ("passed", or "not applicable: why");
    raises :class:`ConformanceError` naming every check that failed.
    """
    outcomes: dict[str, str] = {}
    failures: dict[str, str] = {}
    for name in checks or list(CHECKS):
        current = scenario if isinstance(scenario, Scenario) else scenario()
        try:
            CHECKS[name](make_driver, current)
            outcomes[name] = "passed"
        except NotApplicable as why:
            outcomes[name] = f"not applicable: {why}"
        except ConformanceError as err:
            failures[name] = str(err)
        finally:
            current.close()
    if failures:
        raise ConformanceError(f"{len(failures)} check(s) failed:\n" + "\n".join(
            f"{name}: {why}" for name, why in failures.items()), failures)
    return outcomes


class DriverConformance:
    """A pytest base class: one test per check.  Subclass it as ``class TestMyDriver(DriverConformance)``.

    Implement :meth:`make_driver` and :meth:`make_scenario`: each test makes
    a new scenario first, then the drivers its check needs.  A check that
    does not apply is skipped.
    """

    def make_driver(self) -> NativeDriver:
        raise NotImplementedError

    def make_scenario(self) -> Scenario:
        raise NotImplementedError

    def run_check(self, name: str) -> None:
        scenario = self.make_scenario()
        try:
            CHECKS[name](self.make_driver, scenario)
        except NotApplicable as why:
            import pytest

            pytest.skip(str(why))
        finally:
            scenario.close()

    def test_empty_poll(self) -> None:
        self.run_check("empty_poll")

    def test_hand_over_once(self) -> None:
        self.run_check("hand_over_once")

    def test_finished_work_is_plain_data(self) -> None:
        self.run_check("finished_work_is_plain_data")

    def test_unknown_job_is_that_jobs_trouble(self) -> None:
        self.run_check("unknown_job_is_that_jobs_trouble")

    def test_bad_job_is_that_jobs_trouble(self) -> None:
        self.run_check("bad_job_is_that_jobs_trouble")

    def test_subjobs_leave_their_master(self) -> None:
        self.run_check("subjobs_leave_their_master")

    def test_retrieve_leaves_no_half_file(self) -> None:
        self.run_check("retrieve_leaves_no_half_file")

    def test_release_forgets_the_job(self) -> None:
        self.run_check("release_forgets_the_job")

    def test_finalising_twice_is_harmless(self) -> None:
        self.run_check("finalising_twice_is_harmless")

    def test_scopes_keep_their_own_state(self) -> None:
        self.run_check("scopes_keep_their_own_state")
