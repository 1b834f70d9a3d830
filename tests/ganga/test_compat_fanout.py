"""Backends without a native driver, on a real in-process Ganga: their updates fan out and fan in.

``RecordingSubmitter`` (``plugins.py``) is GangaTest's ``TestSubmitter`` whose
``updateMonitoringInformation`` records each call: which jobs, how many calls
ran at once, and any job given to two calls at once.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from GangaMonitoring.core.work import JobKey

from GangaMonitoring.core.planner import POLL, POLL_NEW, POLL_QUEUED
from GangaMonitoring.core.work import OpKey

from . import plugins
from .conftest import wait_for

pytestmark = pytest.mark.ganga

WAIT = 60.0
FAST = [("PollThread", "default_backend_poll_rate", 1), ("Monitoring", "first_poll_delay", 0.5)]


def component() -> Any:
    from GangaCore.Core import monitoring_component

    return monitoring_component


def split_job(gpi: Any, subjobs: int, **backend: Any) -> Any:
    return gpi.Job(backend=plugins.RecordingSubmitter(**backend),
                   splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(subjobs)]))


@pytest.mark.parametrize("ganga_session", [FAST], indirect=True)
def test_two_masters_are_updated_at_once_and_no_job_by_two_updates(ganga_session: Any) -> None:
    gpi = ganga_session
    component().disable()  # both masters are in the first poll
    masters = [split_job(gpi, 3, time=2) for _ in range(2)]
    for master in masters:
        master.submit()
    # the first two updates meet at a barrier: updated one after the other, they never would
    meet = threading.Barrier(2, timeout=20)
    plugins.UPDATES.reset(gate=meet, gated_calls=2)
    component().enable()
    assert wait_for(lambda: all(m.status == "completed" for m in masters), timeout=WAIT), \
        [m.status for m in masters]
    assert not meet.broken and plugins.UPDATES.most_at_once >= 2
    assert plugins.UPDATES.overlapping == []


@pytest.mark.parametrize("ganga_session", [[*FAST, ("Monitoring", "compat_chunk_size", 1)]], indirect=True)
def test_an_update_slower_than_the_poll_interval_is_not_overlapped(ganga_session: Any) -> None:
    """Each subjob's update takes 2 s, the poll interval is 1 s: stock starts a second update of the
    same job while the first runs; here the next poll skips the jobs still being updated."""
    gpi = ganga_session
    plugins.UPDATES.reset()
    master = split_job(gpi, 4, time=3, update_delay=2)
    master.submit()
    assert wait_for(lambda: master.status == "completed", timeout=WAIT), master.status
    assert plugins.UPDATES.overlapping == []
    assert plugins.UPDATES.most_at_once >= 2  # the four chunks ran side by side


@pytest.mark.parametrize("ganga_session", [[*FAST, ("Monitoring", "compat_chunk_size", 100)]], indirect=True)
def test_a_1000_subjob_master_is_updated_in_concurrent_chunks(ganga_session: Any) -> None:
    gpi = ganga_session
    component().disable()
    master = split_job(gpi, 1000, time=1)
    master.submit()
    meet = threading.Barrier(2, timeout=20)  # two chunks of the one master at once, or it breaks
    plugins.UPDATES.reset(gate=meet, gated_calls=2)
    component().enable()
    assert wait_for(lambda: master.status == "completed", timeout=120), master.status
    assert not meet.broken
    calls = plugins.UPDATES.calls
    assert max(len(call) for call in calls) == 100
    assert {fqid for call in calls for fqid in call} == {f"{master.id}.{i}" for i in range(1000)}
    assert plugins.UPDATES.overlapping == []


@pytest.mark.parametrize("ganga_session", [[*FAST, ("Monitoring", "compat_chunk_size", 10)]], indirect=True)
def test_a_raising_job_is_isolated_in_its_chunk_and_the_others_complete(ganga_session: Any) -> None:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    gpi = ganga_session
    component().disable()
    master = split_job(gpi, 40, time=1)
    master.submit()
    stripProxy(master.subjobs(17)).backend.fail = "monitor"  # its every update raises
    component().enable()
    others = [sj for sj in master.subjobs if sj.id != 17]
    assert wait_for(lambda: all(sj.status == "completed" for sj in others), timeout=WAIT), \
        [sj.status for sj in others]
    assert master.subjobs(17).status in ("submitted", "running")
    # one job's trouble, not its backend's (issue 29): the polls count as answered, the job is shown under its job
    assert wait_for(lambda: component().troubled.get(JobKey(master.id, 17)) is not None, timeout=WAIT)
    trouble = component().troubled.get(JobKey(master.id, 17))
    assert trouble.last_error == "JobError: triggered failure during monitor"
    record = component().poll_records["RecordingSubmitter"]
    assert record.polls >= 1 and record.failures == 0 and record.consecutive_failures == 0
    assert f"job {master.id}: 1 subjob failing its updates" in str(gpi.queues)
    assert component().scheduler.breakers.state_of("RecordingSubmitter").value == "closed"  # one job, not the service


@pytest.mark.parametrize("ganga_session", [FAST], indirect=True)
def test_queues_shows_the_adaptive_limit(ganga_session: Any) -> None:
    gpi = ganga_session
    masters = [split_job(gpi, 5, time=1) for _ in range(4)]
    for master in masters:
        master.submit()
    assert wait_for(lambda: all(m.status == "completed" for m in masters), timeout=WAIT)
    snapshot = gpi.queues.snapshot()
    [limit] = [b for b in snapshot["limits"] if b["backend"] == "RecordingSubmitter"]
    assert limit["pool"] == "poll" and limit["adaptive"] and limit["limit"] >= 1
    assert "RecordingSubmitter" in str(gpi.queues) and "limit" in str(gpi.queues)


@pytest.mark.parametrize("ganga_session", [FAST], indirect=True)
def test_a_job_is_not_polled_before_its_submit_returns(ganga_session: Any) -> None:
    """Ganga sets a job submitted in master_submit and again as submit() returns: a poll in between
    moved it on, and the second 'submitted' undid that."""
    gpi = ganga_session
    plugins.UPDATES.reset()
    job = gpi.Job(backend=plugins.RecordingSubmitter(time=0))
    plugins.SUBMIT_GATE.clear()
    try:
        submitting = threading.Thread(target=job.submit)
        submitting.start()
        assert wait_for(lambda: job.status == "submitted", timeout=WAIT)  # master_submit's
        assert component().runMonitoring(jobs=job, timeout=WAIT)  # a poll ran meanwhile...
        assert plugins.UPDATES.calls == [] and job.status == "submitted"  # ...and left it alone
    finally:
        plugins.SUBMIT_GATE.set()
    submitting.join(WAIT)
    assert wait_for(lambda: job.status == "completed", timeout=WAIT), job.status


@pytest.mark.parametrize("ganga_session", [[*FAST, ("Monitoring", "long_queued_after", 2.0)]], indirect=True)
def test_a_master_with_running_subjobs_is_not_polled_as_long_queued(ganga_session: Any) -> None:
    """Issue 16: Ganga leaves a master submitted while any subjob is; after long_queued_after it was
    polled at the lowest class and a quarter of the rate, running subjobs and all."""
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    gpi = ganga_session
    component().disable()
    master = split_job(gpi, 2, time=60)
    master.submit()
    stripProxy(master.subjobs(1)).backend.queued = 60  # one subjob queues: the master stays submitted
    component().enable()
    assert wait_for(lambda: master.subjobs(0).status == "running", timeout=WAIT)
    started = component().clock.now()
    assert wait_for(lambda: component().clock.now() - started > 5, timeout=WAIT, period=0.5)
    assert master.status == "submitted" and master.subjobs(1).status == "submitted"
    keys = {h.key for h in component().runner.history() if h.event == "started"}
    assert OpKey.poll(POLL_QUEUED, "RecordingSubmitter") not in keys and OpKey.poll(POLL, "RecordingSubmitter") in keys
    assert component().index.get(master.id).status == "running"


@pytest.mark.parametrize("ganga_session", [FAST], indirect=True)
def test_forcing_a_master_failed_forces_its_active_subjobs_too(ganga_session: Any) -> None:
    """Issue 16: after j.force_status('failed', force=True) its running subjobs showed running for ever."""
    gpi = ganga_session
    master = split_job(gpi, 3, time=300)
    master.submit()
    assert wait_for(lambda: all(sj.status == "running" for sj in master.subjobs), timeout=WAIT)
    master.force_status("failed", force=True)
    assert master.status == "failed" and [sj.status for sj in master.subjobs] == ["failed"] * 3
    assert wait_for(lambda: component().index.get(master.id) is None, timeout=WAIT)


class _HeldCall:
    """A gate for RecordingSubmitter's first update: says it entered, then waits until released."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    def wait(self) -> None:
        self.entered.set()
        assert self.release.wait(WAIT)


@pytest.mark.parametrize("ganga_session", [[*FAST, ("Monitoring", "poll_retry_attempts", 3)]], indirect=True)
def test_a_poll_failing_after_disable_is_not_retried(ganga_session: Any) -> None:
    """A poll runs while the user disables monitoring, then fails: its retry would poll while disabled."""
    gpi = ganga_session
    mon = component()
    mon.disable()
    job = gpi.Job(backend=plugins.RecordingSubmitter(time=60))
    job.submit()
    held = _HeldCall()
    plugins.UPDATES.reset(gate=held, gated_calls=1, error=ConnectionError("the service is down"))  # type: ignore[arg-type]
    mon.enable()
    assert held.entered.wait(WAIT)
    [poll] = [op for op in mon.runner.running() if op.parent is None and op.backend == "RecordingSubmitter"]
    mon.disable()
    seen = len(mon.runner.history())
    held.release.set()

    def ended() -> list[str]:
        return [e.event for e in mon.runner.history()[seen:] if e.key == poll.key and e.event in
                {"retry", "failed", "done"}]

    assert wait_for(lambda: bool(ended()), timeout=WAIT)
    assert ended() == ["failed"]  # not "retry": nothing periodic is scheduled while disabled
    assert not [op for op in mon.runner.pending() if op.key == poll.key]


@pytest.mark.parametrize("ganga_session", [FAST], indirect=True)
def test_each_update_call_is_counted_once_under_the_work_it_was_made_for(ganga_session: Any) -> None:
    """``component().update_calls``: what the backend's own update saw, call for call, job for job, each
    call under its cause (the compatibility path's status requests, by why they were made)."""
    gpi = ganga_session
    component().disable()
    plugins.UPDATES.reset()
    jobs = [split_job(gpi, 3, time=1), gpi.Job(backend=plugins.RecordingSubmitter(time=1))]
    for job in jobs:
        job.submit()
    component().enable()
    assert wait_for(lambda: all(j.status == "completed" for j in jobs), timeout=WAIT), [j.status for j in jobs]
    component().disable()  # no call between the two reads below
    counts = [c for c in component().update_calls.statistics() if c.backend == "RecordingSubmitter"]
    seen = list(plugins.UPDATES.calls)
    assert sum(c.calls for c in counts) == len(seen) > 0, (counts, seen)
    assert sum(c.jobs for c in counts) == sum(len(call) for call in seen), (counts, seen)
    causes = {c.cause for c in counts}
    assert causes <= {POLL, POLL_QUEUED, POLL_NEW, "file-event-poll", "poll-jobs", "call"}, causes
    assert causes & {POLL, POLL_NEW}, causes  # periodic or early polls saw these jobs end
