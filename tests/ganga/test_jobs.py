"""Real jobs reach their final state under GangaMonitoring: Local, TestSubmitter, mixes, faults."""

from __future__ import annotations

import os
from typing import Any

import pytest

from GangaMonitoring.core.planner import POLL
from GangaMonitoring.core.work import OpKey

from . import plugins
from .conftest import wait_for

pytestmark = pytest.mark.ganga


def component() -> Any:
    from GangaCore.Core import monitoring_component

    return monitoring_component


def test_local_jobs_complete_with_their_output(ganga_session: Any) -> None:
    gpi = ganga_session
    jobs = []
    for n in range(3):
        j = gpi.Job(backend=gpi.Local(), application=gpi.Executable(exe="echo", args=[f"hello-{n}"]))
        j.submit()
        jobs.append(j)
    assert wait_for(lambda: all(j.status == "completed" for j in jobs), timeout=90), [j.status for j in jobs]
    for n, j in enumerate(jobs):
        with open(os.path.join(j.outputdir, "stdout")) as stdout:
            assert stdout.read().strip() == f"hello-{n}"


def test_split_local_job_completes_with_every_subjob(ganga_session: Any) -> None:
    gpi = ganga_session
    j = gpi.Job(backend=gpi.Local(), application=gpi.Executable(exe="echo"),
                splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(4)]))
    j.submit()
    assert wait_for(lambda: j.status == "completed", timeout=90), (j.status, [s.status for s in j.subjobs])
    assert [sj.status for sj in j.subjobs] == ["completed"] * 4


def test_two_backends_submitted_while_disabled_are_both_polled_after_enable(ganga_session: Any) -> None:
    """Stock bug (GANGA_NOTES §0.2): only the last backend of a scan was polled."""
    gpi = ganga_session
    component().disable()
    local = gpi.Job(backend=gpi.Local())
    local.submit()
    test = gpi.Job(backend=gpi.TestSubmitter(time=1))
    test.submit()
    assert local.status == "submitted" and test.status == "submitted"
    component().enable()
    assert wait_for(lambda: local.status == test.status == "completed", timeout=90), (local.status, test.status)


def test_disabled_monitoring_changes_no_job(ganga_session: Any) -> None:
    gpi = ganga_session
    component().disable()
    j = gpi.Job(backend=gpi.TestSubmitter(time=0))
    j.submit()
    assert not wait_for(lambda: j.status != "submitted", timeout=3)


def test_runMonitoring_polls_requested_jobs_while_disabled_and_leaves_it_disabled(ganga_session: Any) -> None:
    gpi = ganga_session
    mc = component()
    mc.disable()
    j = gpi.Job(backend=gpi.TestSubmitter(time=0))
    j.submit()
    other = gpi.Job(backend=gpi.TestSubmitter(time=0))
    other.submit()
    assert gpi.runMonitoring(jobs=j) is True
    assert j.status == "completed"
    assert other.status == "submitted"
    assert mc.enabled is False
    assert gpi.runMonitoring(steps=2, timeout=60) is True
    assert other.status == "completed"


def test_a_backend_that_raises_does_not_stop_monitoring_of_others(ganga_session: Any) -> None:
    gpi = ganga_session
    broken = gpi.Job(backend=gpi.TestSubmitter(time=1, fail="monitor"))
    broken.submit()
    healthy = gpi.Job(backend=gpi.TestSubmitter(time=1))
    healthy.submit()
    local = gpi.Job(backend=gpi.Local())
    local.submit()
    assert wait_for(lambda: local.status == "completed" and healthy.status == "completed", timeout=90), (
        local.status, healthy.status, [h for h in component().runner.history() if "TestSub" in str(h.key)][-6:])
    mc = component()
    assert mc.alive and mc.runner.alive
    assert broken.status in ("submitted", "running")
    failures = [h for h in mc.runner.history()
                if h.event in ("retry", "failed") and h.key == OpKey.poll(POLL, "TestSubmitter")]
    assert failures and f"job {broken.id}: JobError" in failures[-1].detail


def test_many_testsubmitter_jobs_complete_and_the_index_empties(ganga_session: Any) -> None:
    gpi = ganga_session
    jobs = []
    for _ in range(30):
        j = gpi.Job(backend=gpi.TestSubmitter(time=1))
        j.submit()
        jobs.append(j)
    assert wait_for(lambda: all(j.status == "completed" for j in jobs), timeout=90)
    assert wait_for(lambda: len(component().index) == 0, timeout=10)


@pytest.mark.parametrize("ganga_session", [[("Monitoring", "breaker_failures", 3),
                                            ("Monitoring", "breaker_first_probe", 2.0),
                                            ("PollThread", "default_backend_poll_rate", 1)]], indirect=True)
def test_a_backend_that_raises_on_every_call_is_held_by_its_breaker_and_others_go_on(ganga_session: Any) -> None:
    gpi = ganga_session
    plugins.UPDATES.reset(error=ConnectionError("the service refuses connections"))
    broken = gpi.Job(backend=plugins.RecordingSubmitter(time=1))
    broken.submit()
    mc = component()
    assert wait_for(lambda: mc.runner.breaker_states().get("RecordingSubmitter", "closed") != "closed", timeout=60)
    local = gpi.Job(backend=gpi.Local())
    local.submit()
    assert wait_for(lambda: local.status == "completed", timeout=60), local.status
    assert "RecordingSubmitter" in str(gpi.queues) and "DOWN (breaker open" in str(gpi.queues)
    assert broken.status in ("submitted", "running")  # held, not lost: polled again when a probe succeeds

    def poll_starts() -> int:
        key = OpKey.poll(POLL, "RecordingSubmitter")
        return sum(1 for h in mc.runner.history() if h.key == key and h.event == "started")

    before = poll_starts()
    # a probe after 2 s, then 4 s: at most 2 polls in 5 s, where 1 s polls and their retries would make many more
    assert not wait_for(lambda: poll_starts() > before + 2, timeout=5)
