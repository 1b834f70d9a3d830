"""``queues`` at the prompt: upstream's API keeps working, and it shows monitoring."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import pytest

from GangaMonitoring.core.work import OpKey

from .conftest import wait_for

pytestmark = pytest.mark.ganga


def test_queues_is_ours_and_upstream_add_still_runs_user_work(ganga_session: Any) -> None:
    from GangaMonitoring.views.queues import MonitoringQueues

    queues = ganga_session.queues
    assert isinstance(queues, MonitoringQueues)
    ran = threading.Event()
    queues.add(ran.set)
    assert ran.wait(30)
    assert queues.totalNumUserThreads() >= 0


def test_a_mistyped_command_names_the_one_meant_and_probes_stay_quiet(ganga_session: Any) -> None:
    queues = ganga_session.queues
    with pytest.raises(AttributeError, match=r"queues has no 'wyh': did you mean queues\.why\? its commands are .*add"):
        queues.wyh  # noqa: B018 - the typo is the test
    with pytest.raises(AttributeError, match=r"queues has no 'frobnicate': its commands are"):
        queues.frobnicate  # noqa: B018
    assert not hasattr(queues, "_repr_html_")  # IPython asks for these: a plain AttributeError, no advice
    assert callable(queues.why) and callable(queues.add)


def test_queues_shows_backends_and_explains_a_job(ganga_session: Any) -> None:
    gpi = ganga_session
    job = gpi.Job(backend=gpi.TestSubmitter(time=600))
    job.submit()
    queues = gpi.queues
    assert wait_for(lambda: any(b["backend"] == "TestSubmitter" and b["polls"] >= 1
                                for b in queues.snapshot()["backends"]), timeout=30)
    snapshot = queues.snapshot()
    json.dumps(snapshot)
    [backend] = [b for b in snapshot["backends"] if b["backend"] == "TestSubmitter"]
    assert sum(backend["jobs"].values()) == 1
    assert "Backends:" in str(queues) and "TestSubmitter" in str(queues)
    assert "Ganga user threads" in str(queues)  # the stock part is still there
    why = queues.why(job)
    assert f"job {job.id} is" in why and "poll TestSubmitter" in why


def _component() -> Any:
    from GangaCore.Core import monitoring_component

    return monitoring_component


def _waiting_work(component: Any, job_id: int, ran: threading.Event) -> Any:
    """Retrieval-like work for ``job_id``, queued in the lowest class an hour from now."""
    from GangaMonitoring.core.work import Kind, Operation, PriorityClass

    return component.runner.submit(Operation(
        key=OpKey("test-waiting", job_id), kind=Kind.RETRIEVE, backend="TestSubmitter",
        priority=PriorityClass.QUEUED, due=component.clock.now() + 3600,
        action=lambda _op: ran.set(), job_ids={job_id}, description="work that waits an hour"))


def test_peek_moves_the_jobs_waiting_work_to_the_front(ganga_session: Any) -> None:
    gpi = ganga_session
    job = gpi.Job(backend=gpi.TestSubmitter(time=600))
    job.submit()
    component = _component()
    ran = threading.Event()
    _waiting_work(component, job.id, ran)
    assert not ran.wait(0.5)  # it really waits
    job.peek()
    assert ran.wait(30), "peek did not boost the job's waiting work"
    boosts = [e for e in component.runner.history() if e.key == OpKey("test-waiting", job.id) and e.event == "boosted"]
    assert boosts and "peek" in boosts[0].detail


def test_boosting_an_active_job_with_no_waiting_work_polls_it_now(ganga_session: Any) -> None:
    gpi = ganga_session
    job = gpi.Job(backend=gpi.TestSubmitter(time=600))
    job.submit()
    component = _component()
    assert wait_for(lambda: component.index.get(job.id) is not None, timeout=30)
    assert component.boost_jobs([job], "a test") == 1
    assert wait_for(lambda: any(e.key == OpKey.poll_jobs("TestSubmitter", frozenset({job.id})) and e.event == "done"
                                for e in component.runner.history()), timeout=30)


def test_user_action_hooks_are_undone_when_monitoring_stops(ganga_session: Any) -> None:
    from GangaCore.GPIDev.Lib.Job.Job import Job

    from GangaMonitoring.backends.simgrid import SimGrid
    from GangaMonitoring import patches

    assert getattr(Job.__dict__["peek"], "__gm_wrapped__", False)
    assert getattr(SimGrid.__dict__["getOutput"], "__gm_wrapped__", False)
    patches.remove()
    assert not getattr(Job.__dict__["peek"], "__gm_wrapped__", False)
    assert not getattr(SimGrid.__dict__["getOutput"], "__gm_wrapped__", False)


def test_why_takes_a_job_a_subjob_an_id_or_a_string_and_says_what_is_wrong(ganga_session: Any) -> None:
    """Issue 16: why('abc'), why(None), why(jobs) ended in Ganga's 'Unexpected ERROR' banner."""
    gpi = ganga_session
    job = gpi.Job(backend=gpi.TestSubmitter(time=100), splitter=gpi.ArgSplitter(args=[["a"], ["b"]]))
    job.submit()
    queues = gpi.queues
    for asked in (job, job.id, str(job.id)):  # Ganga's word for the master, then its subjobs by state
        assert str(queues.why(asked)).startswith(f"job {job.id} is submitted (2 subjobs: 2 submitted) on TestSubmitter")
    sub = queues.why(job.subjobs(1))
    assert str(sub).startswith(f"subjob {job.id}.1 is submitted\nits master, job {job.id} is")
    assert queues.why(f"{job.id}.1") == sub and repr(sub) == str(sub)  # prints as text, not a quoted string
    assert queues.why(12345) == "queues.why: there is no job 12345 in this session's job registry"
    assert queues.why(f"{job.id}.7") == f"queues.why: there is no job {job.id}.7 in this session's job registry"
    for wrong, shown in (("abc", "'abc'"), (None, "None"), (gpi.jobs, "a ")):
        answer = queues.why(wrong)
        assert answer.startswith("queues.why: expected a job, a subjob, a job id or 'id.subid'") and shown in answer
    done = gpi.Job(backend=gpi.TestSubmitter(time=0))
    done.submit()
    assert wait_for(lambda: done.status == "completed", timeout=60)
    assert queues.why(done).startswith(f"job {done.id} is completed: it is not being monitored")


def test_the_session_writes_its_status_for_the_shell_command_and_a_last_one_at_stop(gangadir: str) -> None:
    """Issue 16: `ganga-monitoring status` shows a running session's monitoring without its prompt."""
    from GangaMonitoring.views import status_file

    from .conftest import ganga_running

    with ganga_running(gangadir, [("Monitoring", "status_file_interval", 0.2)]) as gpi:
        from GangaMonitoring.config import gangadir as _gangadir

        where = _gangadir()
        assert where is not None
        job = gpi.Job(backend=gpi.TestSubmitter(time=600))
        job.submit()

        def shows_the_job() -> bool:
            try:
                status = status_file.read(where)
            except status_file.StatusFileError:
                return False
            return status.state == "enabled" and "TestSubmitter  ok; 1 " in status.text

        assert wait_for(shows_the_job, timeout=30)
        backends = {b["backend"]: b for b in status_file.read(where).snapshot["backends"]}
        assert backends["TestSubmitter"]["jobs"] == {"submitted": 1} or backends["TestSubmitter"]["jobs"] == \
            {"running": 1}
        job.kill()
    status = status_file.read(where)
    assert status.state == "stopped" and "GangaMonitoring: stopped" in status.text


def test_queues_shows_a_split_job_by_its_subjobs(ganga_session: Any) -> None:
    """Issue 16: a 500-subjob job was counted as "1 running"."""
    gpi = ganga_session
    job = gpi.Job(backend=gpi.TestSubmitter(time=600), splitter=gpi.ArgSplitter(args=[["a"], ["b"], ["c"]]))
    job.submit()
    assert wait_for(lambda: all(sj.status == "running" for sj in job.subjobs), timeout=30)
    [before] = gpi.queues.snapshot()["jobs"]  # the pace counts from here: none final
    assert before["states"] == {"running": 3} and before["finished_recently"] == 0
    job.subjobs(0).force_status("failed")
    expected = f"job {job.id} on TestSubmitter, 3 subjobs: 1 failed, 2 running; "
    assert wait_for(lambda: expected in str(gpi.queues) and "left" in str(gpi.queues), timeout=30), str(gpi.queues)
    [progress] = gpi.queues.snapshot()["jobs"]
    assert (progress["job_id"], progress["finished_recently"]) == (job.id, 1)  # once, though Ganga said it twice
    assert progress["rate_per_min"] > 0 and progress["eta_s"] > 0  # two left at the pace of one so far
    job.kill()


def test_why_of_a_subjob_says_the_state_of_a_master_nobody_monitors(ganga_session: Any) -> None:
    """Tried at the real prompt: 'its master, job 0 is not being monitored' did not say it had ended."""
    gpi = ganga_session
    job = gpi.Job(backend=gpi.TestSubmitter(time=100), splitter=gpi.ArgSplitter(args=[["a"], ["b"]]))
    job.submit()
    job.kill()
    assert str(gpi.queues.why(job.subjobs(0))).endswith(
        f"its master, job {job.id} is killed (2 subjobs: 2 killed): it is not being monitored (only submitted, running "
        "and completing jobs are)")


@pytest.mark.parametrize("native", [True, False], ids=["native", "compat"])
def test_why_of_a_job_the_grid_failed_says_so_and_when(gangadir: str, native: bool) -> None:
    """Issue 16: why(j) of a failed job said only that nobody monitored it, not why it failed."""
    from .test_simgrid import ganga_on, own_simgrid

    with own_simgrid("--queue-time", "0", "0", "--run-time", "0.5", "0.5", "--output-bytes", "64",
                     "--failure-fraction", "1") as grid, \
            ganga_on(gangadir, grid, ("Monitoring", "native_drivers", native)) as gpi:
        single = gpi.Job(backend=gpi.SimGrid())
        split = gpi.Job(backend=gpi.SimGrid(), splitter=gpi.ArgSplitter(args=[["a"], ["b"], ["c"]]))
        single.submit()
        split.submit()
        assert wait_for(lambda: single.status == "failed" and split.status == "failed", timeout=60), \
            (single.status, split.status)
        failed_on_the_grid = r"the grid reported it Failed at \d\d:\d\d:\d\d \(grid id {}\)"
        unsplit = str(gpi.queues.why(single)).splitlines()  # then the work still queued for it, if any
        assert unsplit[0] == f"job {single.id} is failed: it is not being monitored (only submitted, running and " \
            "completing jobs are)"
        assert re.fullmatch(f"  it failed: {failed_on_the_grid.format(single.backend.id)}", unsplit[1]), unsplit
        master = str(gpi.queues.why(split)).splitlines()
        assert master[1] == "  3 of its 3 subjobs failed:", master
        for sj, line in zip(split.subjobs, master[2:5], strict=True):
            assert re.fullmatch(rf"    {split.id}\.{sj.id}: {failed_on_the_grid.format(sj.backend.id)}", line), master
        subjob = str(gpi.queues.why(split.subjobs(1))).splitlines()
        assert subjob[0] == f"subjob {split.id}.1 is failed"
        assert re.fullmatch(f"  it failed: {failed_on_the_grid.format(split.subjobs(1).backend.id)}", subjob[1])
        assert subjob[2] == (f"its master, job {split.id} is failed (3 subjobs: 3 failed): it is not being monitored "
                             "(only submitted, running and completing jobs are)")


def test_why_of_a_job_whose_program_failed_gives_its_exit_code_and_standard_error(ganga_session: Any) -> None:
    """Issue 29: a Local job whose program exited 1 was 'failed: no reason known to monitoring'."""
    gpi = ganga_session
    job = gpi.Job(application=gpi.Executable(exe="sh", args=["-c", "echo broken >&2; exit 3"]), backend=gpi.Local())
    job.submit()
    assert wait_for(lambda: job.status == "failed", timeout=60), job.status
    answer = str(gpi.queues.why(job))
    stderr = f"{job.outputdir}stderr" if job.outputdir.endswith("/") else f"{job.outputdir}/stderr"
    assert f"  it failed: its program exited with code 3; its standard error: {stderr}" in answer, answer
