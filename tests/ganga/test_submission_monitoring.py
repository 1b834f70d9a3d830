"""A split job's subjobs are monitored while the rest are still being submitted (Ganga #2121).

Each test holds ``submit()`` half-way, in the submitting thread, by a status
listener on one subjob going ``submitted`` (:class:`HoldAt`), and checks what
monitoring does meanwhile: the subjobs submitted are polled, retrieved and
finalised, the master is not rolled up to a final state, and the submission
then ends as Ganga's own (or fails as Ganga's own, without monitoring
reviving the failed master).
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import pytest

from GangaMonitoring import patches

from . import plugins
from .conftest import ganga_running, wait_for
from .test_simgrid import check_every_subjob_final_with_output, ganga_on, own_simgrid

pytestmark = pytest.mark.ganga

FINAL = ("completed", "failed", "killed")
SITE_ID_SPAN = 2 ** 58
"""The simulated DIRAC's ids: site number * this + the grid's id (``fakedirac.DIRAC._grid``)."""


class HoldAt:
    """A status listener that holds the thread setting subjob ``number`` ``submitted`` until :meth:`release`."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.reached = threading.Event()
        self._released = threading.Event()

    def __call__(self, job: Any, status: str) -> None:
        if status == "submitted" and job._getParent() is not None and job.id == self.number \
                and not self.reached.is_set():
            self.reached.set()
            self._released.wait(120)

    def release(self) -> None:
        self._released.set()


class Submission:
    """``job.submit()`` in a thread of its own: its outcome (True, or the exception) once it ended."""

    def __init__(self, job: Any) -> None:
        self.outcome: Any = None
        self._thread = threading.Thread(target=self._run, args=(job,), name="test-submit", daemon=True)
        self._thread.start()

    def _run(self, job: Any) -> None:
        try:
            self.outcome = bool(job.submit())
        except Exception as err:  # noqa: BLE001 - the test reads it
            self.outcome = err

    def join(self) -> Any:
        self._thread.join(120)
        assert not self._thread.is_alive(), "submit() did not return"
        return self.outcome


@contextlib.contextmanager
def held_at(number: int) -> Iterator[HoldAt]:
    hold = HoldAt(number)
    patches.add_status_listener(hold, subjobs=True)
    try:
        yield hold
    finally:
        hold.release()
        patches.remove_status_listener(hold)


def submit_ending_the_first_while_held(job: Any, held: int, timeout: float, held_within: float = 60,
                                       rest: str = "new") -> Any:
    """``job.submit()`` one subjob at a time, held once subjob ``held`` is ``submitted`` (within
    ``held_within`` s): meanwhile subjobs ``0..held`` are finalised (within ``timeout`` s), the master stays in
    submission and not final, the rest stay ``rest``; then the submission goes on.  Returns its outcome
    (:meth:`Submission.join`)."""
    total = len(job.subjobs) or len(job.splitter.args)
    with held_at(held) as hold:
        submission = Submission(job)
        assert hold.reached.wait(held_within)
        assert wait_for(lambda: statuses(job, range(held + 1)) == ["completed"] * (held + 1), timeout=timeout), \
            statuses(job, range(total))
        assert in_submission(job) and job.status not in FINAL, job.status
        assert statuses(job, range(held + 1, total)) == [rest] * (total - held - 1)
        hold.release()
        return submission.join()


def statuses(job: Any, numbers: range) -> list[str]:
    return [job.subjobs[n].status for n in numbers]


def in_submission(job: Any) -> bool:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    return patches.in_submission(stripProxy(job))


def test_simgrid_subjobs_are_finalised_while_the_rest_are_submitted(gangadir: str) -> None:
    """Native path, bulk submission: SimGrid sets its subjobs submitted one by one after one request."""
    with own_simgrid("--queue-time", "0", "0.5", "--run-time", "0.5", "1", "--output-bytes", "64",
                     "--failure-fraction", "0", "--seed", "3") as grid, ganga_on(gangadir, grid) as gpi:
        job = gpi.Job(backend=gpi.SimGrid(), splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(20)]))
        with held_at(9) as hold:
            submission = Submission(job)
            assert hold.reached.wait(60)
            assert wait_for(lambda: statuses(job, range(10)) == ["completed"] * 10, timeout=60), \
                statuses(job, range(20))
            assert in_submission(job) and job.status not in FINAL
            assert statuses(job, range(10, 20)) == ["submitting"] * 10
            hold.release()
            assert submission.join() is True
        assert wait_for(lambda: job.status == "completed", timeout=60), job.status
        check_every_subjob_final_with_output(job, grid.client())


@pytest.mark.parametrize("backend", ["RecordingSubmitter"])
def test_a_subjob_ending_during_a_one_by_one_submission_lets_it_end_as_ganga_s(gangadir: str, backend: str) -> None:
    """Local (native driver) and RecordingSubmitter (compatibility path) go through Ganga's one-by-one
    ``master_submit``: held right after subjob 3 is ``submitted``, subjobs 0-3 end, and 4-5 are ``new``.

    Ganga rolls the master up after each subjob's change, in the submitting
    thread: with no subjob submitting or submitted left ({completed, new}) it
    would set the master completed, which ``submitting`` may not become, and
    ``submit()`` would fail (it did before the roll-up waited for the end of the
    submission).  A monitoring thread's roll-up would do the same.
    """
    with ganga_running(gangadir) as gpi:
        made = gpi.Local() if backend == "Local" else gpi.RecordingSubmitter(time=0)
        job = gpi.Job(backend=made, application=gpi.Executable(exe="/bin/true"), parallel_submit=False,
                      splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(6)]))
        assert submit_ending_the_first_while_held(job, 3, timeout=60) is True
        assert wait_for(lambda: job.status == "completed", timeout=60), (job.status, statuses(job, range(6)))
        assert statuses(job, range(6)) == ["completed"] * 6


def test_a_submission_failing_half_way_leaves_the_master_failed(gangadir: str) -> None:
    """Subjobs 0-2 are submitted and end while subjob 3's submission is held, then subjob 3 fails to submit:
    Ganga marks the master failed (``IncompleteJobSubmissionError``) and leaves 3-5 ``new``.  Monitoring's
    roll-up of the master after the submission would make it completed from its subjobs (none active):
    it stays failed."""
    plugins.SUBMIT_FAILS_AT.append(3)
    with ganga_running(gangadir) as gpi:
        job = gpi.Job(backend=gpi.RecordingSubmitter(time=0), application=gpi.Executable(exe="/bin/true"),
                      parallel_submit=False, splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(6)]))
        outcome = submit_ending_the_first_while_held(job, 2, timeout=60)
        assert isinstance(outcome, Exception), outcome
        assert job.status == "failed"
        assert statuses(job, range(6)) == ["completed"] * 3 + ["new"] * 3
        # the roll-up asked for at the end of the submission has run
        assert wait_for(lambda: not _rollup_planned(job.id), timeout=30)
        assert job.status == "failed"


def _rollup_planned(master_id: int) -> bool:
    """Is a roll-up of ``master_id`` pending or running?"""
    from GangaCore.Core import monitoring_component

    from GangaMonitoring.core.work import OpKey

    runner = monitoring_component.runner
    return any(op.key == OpKey.rollup(master_id) for op in [*runner.pending(), *runner.running()])


@pytest.mark.parametrize("driver", ["native", "not loaded"])
def test_a_dirac_subjob_failing_during_a_later_block_s_submission_does_not_fail_the_submission(
        gangadir: str, driver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """GangaDirac submits a split job in blocks (``[Dirac]maxSubjobsPerProcess``) and returns 0, a failed
    submission, if any subjob is ``failed`` at the end.  The split job goes to a site where every job fails:
    held after the first block, its subjobs fail there while two Dirac polls pass (a job running at the
    other site keeps Dirac polled).  They are polled and their output fetched meanwhile, but their end is
    held (``completing``) until ``submit()`` returns: ended then, they would fail the submission.  With a
    Dirac driver that cannot be loaded, Ganga's own update (which nothing holds) leaves them alone."""
    from GangaMonitoring import drivers
    from GangaMonitoring.core.work import OpKey

    from .test_dirac import dirac_session

    if driver == "not loaded":
        monkeypatch.setitem(drivers.NATIVE_DRIVERS, "Dirac", "GangaMonitoring.drivers.no_such_module:DiracDriver")
    during = ["completing"] * 2 if driver == "native" else ["submitted"] * 2
    failing_site = "LCG.Failing.sim"
    quick = ("--queue-time", "0", "0.2", "--run-time", "0.2", "0.5")
    with own_simgrid(*quick, "--failure-fraction", "1") as failing, \
            dirac_session(gangadir, ("Dirac", "maxSubjobsPerProcess", 2), sites={failing_site: failing.url},
                          grid_args=("--queue-time", "0", "0", "--run-time", "600", "600")) as (gpi, component, _):
        keeper = gpi.Job(backend=gpi.Dirac())
        keeper.submit()
        job = gpi.Job(backend=gpi.Dirac(settings={"Destination": failing_site}), parallel_submit=False,
                      splitter=gpi.ArgSplitter(args=[[str(n)] for n in range(4)]))
        with held_at(1) as hold:
            submission = Submission(job)
            assert hold.reached.wait(120)
            first_block = [job.subjobs[n].backend.id % SITE_ID_SPAN for n in range(2)]
            assert wait_for(lambda: [v["state"] for v in failing.client().status(first_block)] == ["Failed"] * 2,
                            timeout=60)
            seen = len(component.runner.history())
            poll = OpKey.poll("poll", "Dirac")
            assert wait_for(lambda: sum(1 for e in component.runner.history()[seen:]
                                        if e.key == poll and e.event == "done") >= 2, timeout=60)
            assert wait_for(lambda: component.pipeline.held() == len(during) * (driver == "native"), timeout=60)
            assert statuses(job, range(4)) == during + ["submitting"] * 2  # Ganga's, before its blocks
            assert ("Dirac" in component.native_drivers) == (driver == "native")
            if driver == "native":  # the REASON column says why they stay completing
                held = [row for row in gpi.queues.jobs(master=job).rows if row.status == "completing"]
                assert [row.reason for row in held] == ["ended failed; held until its split job's submission "
                                                        "returns (a failed subjob fails it)"] * 2
            hold.release()
            assert submission.join() is True
        assert wait_for(lambda: job.status == "failed", timeout=120), (job.status, statuses(job, range(4)))
        assert statuses(job, range(4)) == ["failed"] * 4
        keeper.kill()


def test_dirac_subjobs_of_a_block_complete_while_the_next_blocks_are_submitted(gangadir: str) -> None:
    """Native path, GangaDirac's block submission: held after the first block of two, its subjobs are
    finalised (with their sandboxes), the next block stays ``new``; then the submission ends as Ganga's."""
    from .test_dirac import dirac_session, stdout_of

    with dirac_session(gangadir, ("Dirac", "maxSubjobsPerProcess", 2)) as (gpi, component, _grid):
        job = gpi.Job(backend=gpi.Dirac(), parallel_submit=False,
                      splitter=gpi.ArgSplitter(args=[[str(n)] for n in range(4)]))
        # GangaDirac sets every subjob submitting before its first block
        assert submit_ending_the_first_while_held(job, 1, timeout=120, rest="submitting") is True
        assert wait_for(lambda: job.status == "completed", timeout=120), (job.status, statuses(job, range(4)))
        assert all("simulated job" in stdout_of(sub) for sub in job.subjobs)
        assert component.pipeline.held() == 0


def test_slurm_subjobs_end_during_a_one_by_one_submission_which_ends_as_ganga_s(gangadir: str) -> None:
    """Native path, Ganga's one-by-one ``master_submit`` on a real Slurm: held after subjob 2 is submitted,
    subjobs 0-2 run and are finalised, 3-4 stay ``new``; then the submission ends and so does the job."""
    from .test_slurm import SLURM_OPTIONS, slurm_is_up

    if not slurm_is_up():
        pytest.skip("no Slurm on this machine: run ci/slurm/start-slurm.sh (as root) to test against one")
    with ganga_running(gangadir, SLURM_OPTIONS) as gpi:
        job = gpi.Job(application=gpi.Executable(exe="/bin/bash"), backend=gpi.Slurm(), parallel_submit=False,
                      splitter=gpi.ArgSplitter(args=[["-c", f"echo part-{n}"] for n in range(5)]))
        # other sessions' Slurm jobs may queue ahead of these
        assert submit_ending_the_first_while_held(job, 2, timeout=600, held_within=120) is True
        assert wait_for(lambda: job.status == "completed", timeout=600), (job.status, statuses(job, range(5)))
        for n, sub in enumerate(job.subjobs):
            assert f"part-{n}" in Path(sub.outputdir, "stdout").read_text()
