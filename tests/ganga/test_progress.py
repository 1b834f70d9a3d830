"""A split job's time left: from its subjobs' run times and the slots in use, not the pace after a restart."""

from __future__ import annotations

from types import SimpleNamespace

from GangaMonitoring.views.layout import render_progress
from GangaMonitoring.core.clock import FakeClock
from GangaMonitoring.core.index import ActiveJobIndex
from GangaMonitoring.views.progress import SplitJobProgress, eta_from_run_times


def master(states: dict[str, int]) -> SimpleNamespace:
    subjobs = [SimpleNamespace(status=state) for state, n in states.items() for _ in range(n)]
    return SimpleNamespace(subjobs=subjobs)


def test_the_time_left_is_run_times_in_waves_of_the_slots_in_use() -> None:
    assert eta_from_run_times([60.0, 60.0, 240.0], running=10, queued=40) == 60.0 * (0.5 + 4)
    assert eta_from_run_times([], running=10, queued=40) is None  # nothing ran to the end yet
    assert eta_from_run_times([60.0], running=0, queued=40) is None  # no slot in use: not known


def test_after_a_restart_the_burst_of_ends_does_not_make_the_time_left_short() -> None:
    """Issue 29: '~51 s left' for what took 4 min: a restart found 40 subjobs ended while no Ganga ran, and
    the pace of those first seconds said 40 a minute."""
    clock = FakeClock(start=1000.0)
    index = ActiveJobIndex()
    index.update(3, "Local", "running", now=990.0)
    job = master({"completed": 40, "running": 10, "submitted": 50})
    progress = SplitJobProgress(clock, index, lambda job_id: job if job_id == 3 else None)
    progress.look()  # the restart's first look: 40 final already
    job.subjobs[40].status = "completed"  # one more ends in this session, after 120 s of running
    progress.note_run_time(3, 120.0)
    clock.jump(5)
    [now] = progress.look()[0]
    assert now.eta_s == 120.0 * (0.5 + 50 / 9)  # 9 still running, 50 queued
    assert now.eta_from_run_times == 1
    assert render_progress(now).endswith("~12.1 min left (rough: 1 run time)")
    for _ in range(11):
        progress.note_run_time(3, 120.0)
    [sure] = progress.look()[0]
    assert sure.eta_from_run_times == 12 and "rough" not in render_progress(sure)


def test_with_no_run_time_yet_the_pace_gives_the_time_left() -> None:
    clock = FakeClock(start=1000.0)
    index = ActiveJobIndex()
    index.update(4, "Local", "running", now=990.0)
    job = master({"running": 10, "submitted": 10})
    progress = SplitJobProgress(clock, index, lambda job_id: job)
    progress.look()
    for sub in job.subjobs[:5]:
        sub.status = "completed"
    clock.jump(60)
    [entry] = progress.look()[0]
    assert entry.eta_from_run_times == 0 and entry.eta_s == 15 / (5 / 60)  # 15 left at 5 a minute
