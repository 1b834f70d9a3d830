"""The grid model on a fake clock: exact transitions, change log, kills, outputs, scale."""

from __future__ import annotations

import io
import tarfile

import pytest

from GangaMonitoring.core.clock import FakeClock
from GangaMonitoring.simulator.model import (GridConfig, GridState, OutputNotReady, SimulatedGrid, UnknownJob,
                                             build_sandbox)


def grid(**config: object) -> tuple[SimulatedGrid, FakeClock]:
    clock = FakeClock(start=100.0)
    return SimulatedGrid(GridConfig(**config), clock), clock  # type: ignore[arg-type]


def test_a_job_waits_runs_and_finishes_at_its_drawn_times() -> None:
    g, clock = grid(queue_time=(2, 2), run_time=(3, 3))
    [job] = g.submit(1)
    states = []
    for t in (101.9, 102.0, 104.9, 105.0):
        clock.advance_to(t)
        states.append(g.status([job])[0].state)
    assert states == [GridState.WAITING, GridState.RUNNING, GridState.RUNNING, GridState.DONE]
    view = g.status([job])[0]
    assert (view.submitted_at, view.started_at, view.finished_at) == (100.0, 102.0, 105.0)


def test_same_seed_same_grid_and_failure_fraction_is_respected() -> None:
    a, clock_a = grid(seed=7, failure_fraction=0.3, run_time=(1, 9))
    b, clock_b = grid(seed=7, failure_fraction=0.3, run_time=(1, 9))
    a.submit(2000)
    b.submit(2000)
    clock_a.jump(100)
    clock_b.jump(100)
    views_a = a.status(range(2000))
    assert views_a == b.status(range(2000))
    failed = sum(v.state is GridState.FAILED for v in views_a)
    assert 0.25 * 2000 < failed < 0.35 * 2000


def test_held_jobs_wait_until_released_then_keep_their_drawn_times() -> None:
    held, clock = grid(seed=3, queue_time=(1, 4), run_time=(2, 6))
    free, free_clock = grid(seed=3, queue_time=(1, 4), run_time=(2, 6))
    free_views = free.status(free.submit(5))
    held.hold()
    early = held.submit(3)
    clock.jump(50)  # minutes of submission pass; held jobs have not even started to queue
    late = held.submit(2)
    assert {v.state for v in held.status(early + late)} == {GridState.WAITING}
    assert held.release() == 5 and held.release() == 0
    released_at = clock.now()
    clock.jump(100)
    free_clock.jump(150)
    views = held.status(early + late)
    assert all(v.state is GridState.DONE for v in views)
    expected = free.status(range(5))
    for view, same in zip(views, expected, strict=True):  # the same draws, counted from the release
        assert view.started_at == pytest.approx(released_at + (same.started_at - free_views[0].submitted_at))
        assert view.finished_at == pytest.approx(released_at + (same.finished_at - free_views[0].submitted_at))
    [after] = held.submit(1)  # released: new jobs queue from their own submission again
    assert held.status([after])[0].state is GridState.WAITING and after == 5


def test_changes_since_cursor_returns_only_what_changed() -> None:
    g, clock = grid(queue_time=(1, 1), run_time=(1, 1))
    g.submit(3)
    cursor, first = g.changes(0)
    assert [v.state for v in first] == [GridState.WAITING] * 3
    assert g.changes(cursor) == (cursor, [])
    clock.jump(1.5)
    cursor, running = g.changes(cursor)
    assert {v.job_id for v in running} == {0, 1, 2} and {v.state for v in running} == {GridState.RUNNING}
    clock.jump(1)
    cursor, done = g.changes(cursor)
    assert {v.state for v in done} == {GridState.DONE}
    assert g.changes(cursor)[1] == []


def test_kill_is_immediate_final_and_reported_as_a_change() -> None:
    g, clock = grid(queue_time=(5, 5), run_time=(5, 5))
    g.submit(2)
    cursor, _ = g.changes(0)
    clock.jump(1)
    assert g.kill([0]) == [0]
    assert g.kill([0]) == []  # already final
    _, changed = g.changes(cursor)
    assert [(v.job_id, v.state) for v in changed] == [(0, GridState.KILLED)]
    clock.jump(20)
    assert [v.state for v in g.status([0, 1])] == [GridState.KILLED, GridState.DONE]
    _, later = g.changes(cursor)
    assert 0 in {v.job_id for v in later} and all(v.state is not GridState.RUNNING for v in later if v.job_id == 0)


def test_output_is_a_real_tarball_only_once_finished() -> None:
    g, clock = grid(queue_time=(0, 0), run_time=(1, 1), output_files=3, output_bytes=1000)
    [job] = g.submit(1)
    with pytest.raises(OutputNotReady):
        g.output(job)
    clock.jump(1)
    data = g.output(job)
    assert data == g.output(job)  # deterministic
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m.size for m in tar.getmembers()}
    assert set(members) == {"stdout", "out_0.dat", "out_1.dat", "out_2.dat"}
    assert members["out_1.dat"] == 1000


def test_unknown_jobs_are_rejected() -> None:
    g, _ = grid()
    g.submit(1)
    for bad in (1, -1):
        with pytest.raises(UnknownJob):
            g.status([bad])
    with pytest.raises(UnknownJob):
        g.kill([5])


@pytest.mark.parametrize("bad", [dict(queue_time=(3, 1)), dict(run_time=(-1, 1)), dict(failure_fraction=2)])
def test_bad_configuration_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        GridConfig(**bad)  # type: ignore[arg-type]


def test_holds_100k_jobs_and_answers_changes_incrementally() -> None:
    g, clock = grid(queue_time=(0, 10), run_time=(1, 10))
    g.submit(100_000)
    cursor, _ = g.changes(0)
    clock.jump(1)
    cursor, changed = g.changes(cursor)
    assert 0 < len(changed) < 30_000  # only those that started in the first second
    clock.jump(100)
    stats = g.statistics()
    assert stats.jobs == 100_000 and stats.by_state == {"Done": 100_000}


def test_sandbox_differs_per_job() -> None:
    config = GridConfig(output_files=1, output_bytes=64)
    assert build_sandbox(config, 1, GridState.DONE) != build_sandbox(config, 2, GridState.DONE)


# -- ids across runs -----------------------------------------------------------------


def test_a_run_numbers_its_jobs_from_its_first_id_and_knows_no_other() -> None:
    from GangaMonitoring.simulator.model import IDS_PER_RUN, RunFull

    clock = FakeClock(start=100.0)
    g = SimulatedGrid(GridConfig(queue_time=(0, 0), run_time=(1, 1)), clock, first_id=5 * IDS_PER_RUN)
    ids = g.submit(3, names=["a", "b", "c"])
    assert ids == [5 * IDS_PER_RUN + i for i in range(3)]
    assert [v.name for v in g.status(ids)] == ["a", "b", "c"]
    assert g.status_known([0, 1, ids[0]]) == (g.status([ids[0]]), [0, 1])  # an earlier run's ids are unknown
    assert g.kill_known([ids[1], 7]) == ([ids[1]], [7])
    clock.jump(2)
    assert {v.job_id for v in g.changes(0)[1]} == set(ids)
    assert g.output(ids[0])[:2] == b"\x1f\x8b"
    with pytest.raises(ValueError, match="2 names for 1 jobs"):
        g.submit(1, names=["x", "y"])
    with pytest.raises(RunFull, match="restart the simulator"):
        g.submit(IDS_PER_RUN)
    assert len(g) == 3  # a refused submission submits nothing


def test_runs_started_one_after_the_other_never_share_an_id() -> None:
    """A run serves from the start of its epoch; the next run starts later, so its epoch is larger, and each
    run's ids stay within its IDS_PER_RUN: the ranges of any two runs are disjoint."""
    from GangaMonitoring.simulator.model import ID_EPOCH_UNIT_NS, IDS_PER_RUN, run_first_id

    now = 1_780_000_000_123_456_789
    ranges = []
    for _ in range(50):
        first, serve_from = run_first_id(now)
        assert now < serve_from <= now + ID_EPOCH_UNIT_NS
        ranges.append(range(first, first + IDS_PER_RUN))
        now = serve_from  # the next run starts as soon as it can: the moment this one may serve
    starts = [r.start for r in ranges]
    assert all(b.start >= a.stop for a, b in zip(ranges, ranges[1:], strict=False))
    assert len(set(starts)) == len(starts) and max(starts) + IDS_PER_RUN < 2 ** 58
