"""File events on real Local and Slurm jobs: a job's end seen from its status file, not from a periodic poll."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from .conftest import ganga_running, wait_for
from .test_flush_cost import KEEP
from .test_slurm import SLURM_OPTIONS, slurm_is_up, slurm_job

pytestmark = pytest.mark.ganga

NO_PERIODIC_LOCAL_POLL = [("PollThread", "Local", 3600), ("Monitoring", "first_poll_delay", 3600.0)]
"""Local polled once an hour, new jobs too: only a file event can see these jobs run and end."""


def component() -> Any:
    from GangaCore.Core import monitoring_component

    return monitoring_component


def event_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "GangaMonitoring-file-events" and t.is_alive()]


def local_job(gpi: Any, seconds: float) -> Any:
    return gpi.Job(application=gpi.Executable(exe="/bin/sh", args=["-c", f"sleep {seconds}; echo done"]),
                   backend=gpi.Local())


def gated(gate: str, then: str) -> list[str]:
    """``sh -c`` arguments of a program that waits for the file ``gate``, then runs ``then``."""
    return ["-c", f"while [ ! -e {gate} ]; do sleep 0.1; done; {then}"]


def local_polls_settled() -> bool:
    """No poll of Local runs, and none is due within the hour's polls (first or periodic): events' polls done."""
    snapshot = component().statistics()
    local = [b for b in snapshot.backends if b.backend == "Local"]
    running = any("Local" in what for what in snapshot.running)
    return not running and all(b.next_poll_in is None or b.next_poll_in > 600 for b in local)


def test_local_jobs_end_by_their_status_files_and_their_watches_go(gangadir: str) -> None:
    gate = os.path.join(os.path.dirname(gangadir), os.path.basename(gangadir) + ".gate")
    with ganga_running(gangadir, NO_PERIODIC_LOCAL_POLL) as gpi:
        jobs = [gpi.Job(application=gpi.Executable(exe="/bin/sh", args=gated(gate, "sleep 1; echo done")),
                        backend=gpi.Local()) for _ in range(3)]
        split = gpi.Job(application=gpi.Executable(exe="/bin/sh"), backend=gpi.Local(),
                        splitter=gpi.ArgSplitter(args=[gated(gate, f"echo part-{n}") for n in range(3)]))
        for job in [split, *jobs]:
            job.submit()
        # no job ends before the polls that submission asks for (the split's, during and at the end of its
        # submission) have run, however slow the machine: then only a status file's event can see an end
        assert wait_for(local_polls_settled, timeout=120), component().statistics()
        with open(gate, "w"):
            pass
        events = component().file_events
        assert wait_for(lambda: all(j.status == "completed" for j in [*jobs, split]), timeout=120), (
            [j.status for j in [*jobs, split]], dict(events.refused))
        # each job reached 'completed' in a poll its status file asked for, noted when that poll returned
        # (after the job turned final, which this thread may see first)
        wanted = [str(j.id) for j in jobs] + [f"{split.id}.{n}" for n in range(3)]
        assert wait_for(lambda: {fqid: events.ended_by_event.get(fqid) for fqid in wanted}
                        == dict.fromkeys(wanted, "completed"), timeout=30), dict(events.ended_by_event)
        assert wait_for(lambda: events.watches() == 0, timeout=30), events.watches()  # final: unwatched
        running = local_job(gpi, 300)
        running.submit()
        assert events.watches() == 1 and event_threads()  # watched from 'submitted' on
    assert not event_threads()  # stopped with Ganga, its watch with it


@pytest.mark.parametrize("ganga_session", [[("PollThread", "Local", 1), ("Monitoring", "file_events", "off")]],
                         indirect=True)
def test_with_file_events_off_nothing_is_watched_and_the_polls_see_the_end(ganga_session: Any) -> None:
    job = local_job(ganga_session, 1)
    job.submit()
    assert wait_for(lambda: job.status == "completed", timeout=60), job.status
    events = component().file_events
    assert events.watches() == 0 and not events.ended_by_event and not event_threads()


@pytest.mark.parametrize("ganga_session", [[("PollThread", "Local", 2), ("Monitoring", "max_file_watches", 1)]],
                         indirect=True)
def test_beyond_the_watch_limit_a_job_is_polled_as_before(ganga_session: Any) -> None:
    from GangaMonitoring.views.layout import render

    gpi = ganga_session
    watched, beyond = local_job(gpi, 30), local_job(gpi, 3)
    watched.submit()
    beyond.submit()
    events = component().file_events
    assert events.watches() == 1
    assert events.refused == {"1 directories are watched already": 1}, dict(events.refused)
    shown = render(component().statistics())
    assert "file events: 1 job(s) watched" in shown
    assert "not watched (1, polled every interval): 1 directories are watched already" in shown, shown
    assert wait_for(lambda: beyond.status == "completed", timeout=60), beyond.status
    assert str(beyond.id) not in events.ended_by_event  # the periodic poll ended it
    assert not events.refused  # final: forgotten
    watched.kill()


def test_a_slurm_job_ends_by_its_status_file_without_a_query_of_slurm(gangadir: str) -> None:
    """[PollThread]Slurm at 30 s, the wrapper's heartbeat at 1 s: the END line's event polls the job."""
    if not slurm_is_up():
        if os.environ.get("GM_REQUIRE_SLURM") == "1":
            pytest.fail("Slurm is required here (GM_REQUIRE_SLURM=1) but `sinfo` shows no node")
        pytest.skip("no Slurm on this machine: run ci/slurm/start-slurm.sh (as root) to test against one")
    options = [*SLURM_OPTIONS, ("PollThread", "Slurm", 30), ("Monitoring", "first_poll_delay", 3600.0)]
    with ganga_running(gangadir, options) as gpi:
        job = slurm_job(gpi, "sleep 3; echo hello")
        job.submit()
        events = component().file_events
        assert wait_for(lambda: job.status == "completed", timeout=240), (job.status, dict(events.refused))
        assert wait_for(lambda: events.ended_by_event.get(str(job.id)) == "completed", timeout=30)  # noted after


def test_a_job_a_previous_session_left_running_is_watched_from_its_first_poll(gangadir: str) -> None:
    """No status change announces it to this session: its backend's first poll does."""
    go = os.path.join(os.path.dirname(gangadir), f"{os.path.basename(gangadir)}-go")
    # Local polled once an hour, but a backend's first poll comes first_poll_delay after it has jobs
    once = [("PollThread", "Local", 3600), ("Monitoring", "first_poll_delay", 1.0), *KEEP]
    with ganga_running(gangadir, once) as gpi:
        waiting = f"while [ ! -e {go} ]; do sleep 0.2; done"
        job = gpi.Job(application=gpi.Executable(exe="/bin/sh", args=["-c", waiting]), backend=gpi.Local())
        job.submit()
        job_id = job.id
        assert wait_for(lambda: job.status == "running", timeout=60), job.status  # so no change comes next time
    with ganga_running(gangadir, once) as gpi:
        job = gpi.jobs(job_id)
        events = component().file_events
        assert wait_for(lambda: events.watches() == 1, timeout=60), (job.status, dict(events.refused))
        assert job.status == "running"
        with open(go, "w"):
            pass  # the job's program ends now
        assert wait_for(lambda: job.status == "completed", timeout=60), job.status
        assert wait_for(lambda: events.ended_by_event.get(str(job_id)) == "completed", timeout=30)  # noted after


@pytest.mark.parametrize("ganga_session", [[("PollThread", "Local", 1)]], indirect=True)
def test_on_a_network_file_system_jobs_are_polled_unless_file_events_is_on(ganga_session: Any, gangadir: str) -> None:
    """The gangadir's device read as NFS (as /proc/self/mountinfo would say on a cluster): no watch, the polls
    end the job; ``file_events = 'on'`` (a user whose jobs run on this host) watches it all the same."""
    from GangaCore.Utility.Config import getConfig

    gpi = ganga_session
    events = component().file_events
    events._fs_by_device[os.stat(gangadir).st_dev] = "nfs4"  # what fs_types.fs_type says of an NFS mount
    polled = local_job(gpi, 2)
    polled.submit()
    assert events.watches() == 0
    [(why, count)] = events.refused.items()
    assert count == 1 and why.startswith("its output directory is on nfs4, whose changes made on other hosts"), why
    assert wait_for(lambda: polled.status == "completed", timeout=60), polled.status
    assert str(polled.id) not in events.ended_by_event and not events.refused
    getConfig("Monitoring").setUserValue("file_events", "on")
    try:
        watched = local_job(gpi, 30)
        watched.submit()
        assert events.watches() == 1 and not events.refused
        watched.kill()
    finally:
        getConfig("Monitoring").setUserValue("file_events", "auto")
