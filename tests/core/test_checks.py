"""The component's periodic checks (``integration/checks.py``): each runs again after its interval, also after it
failed, never once monitoring is disabled, and later when a run's cost would exceed its share of the time;
the free-disk check holds work before the disk is full."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from tenacity import stop_after_attempt, wait_fixed

from GangaMonitoring.core.clock import FakeClock, SystemClock
from GangaMonitoring.runtime.pools import Pools
from GangaMonitoring.core.retry import RetryPolicy
from GangaMonitoring.runtime.runner import SchedulerRunner
from GangaMonitoring.core.scheduler import Scheduler
from GangaMonitoring.core.work import OpKey, State
from GangaMonitoring.integration.checks import FreeDiskCheck, PeriodicCheck, next_due

WAIT = 10.0


@pytest.fixture
def runner() -> Iterator[SchedulerRunner]:
    clock = SystemClock()
    pools = Pools({"poll": 1, "io": 1, "cpu": 1, "processes": 1}, clock)
    policy = RetryPolicy("test", wait=wait_fixed(0), stop=stop_after_attempt(1))
    r = SchedulerRunner(Scheduler({"poll": 1, "io": 1, "cpu": 1}), pools, clock, lambda kind: policy, max_sleep=0.05)
    r.start()
    yield r
    r.stop()
    r.join(WAIT)
    pools.shutdown(wait=True)


def test_a_check_runs_again_after_each_run_even_a_failed_one_and_stops_once_disabled(runner: SchedulerRunner) -> None:
    runs: list[int] = []
    enabled = threading.Event()
    enabled.set()
    third, stopped = threading.Event(), threading.Event()

    def run() -> None:
        runs.append(len(runs) + 1)
        if len(runs) == 1:
            raise OSError("the first run fails")  # the next is scheduled all the same
        if len(runs) == 3:
            enabled.clear()  # monitoring disabled meanwhile: this run is the last
            third.set()

    check = PeriodicCheck("test-check", "a test check", run, lambda: 0.01)
    check.schedule(runner, runner.clock.now(), enabled.is_set)
    assert third.wait(WAIT)
    marker = PeriodicCheck("after", "runs once the last check has", stopped.set, lambda: 0.01)
    marker.schedule(runner, runner.clock.now() + 0.05, lambda: False)
    assert stopped.wait(WAIT)
    assert runs == [1, 2, 3]


def test_the_free_disk_check_holds_work_while_space_is_short_and_releases_it_once() -> None:
    free = {"bytes": 500 * 2**20}
    said: list[tuple[str, str]] = []
    check = FreeDiskCheck(lambda reason: said.append(("hold", reason)), lambda reason: said.append(("release", reason)),
                          lambda: "/gangadir", lambda: 1000.0, lambda _path: free["bytes"])
    check()
    check()
    assert [what for what, _ in said] == ["hold", "hold"] and check.held
    assert said[0][1] == ("only 500 MB free in /gangadir ([Monitoring]min_free_disk_mb = 1000): "
                          "output retrieval and finalisation wait")
    free["bytes"] = 2000 * 2**20
    check()
    check()
    assert said[-1] == ("release", "2000 MB free again in /gangadir") and [w for w, _ in said].count("release") == 1
    nothing = FreeDiskCheck(lambda r: said.append(("hold", r)), lambda r: said.append(("release", r)),
                            lambda: None, lambda: 1000.0, lambda _path: 0)
    count = len(said)
    nothing()  # no gangadir yet: nothing to check
    assert len(said) == count


def test_next_due_keeps_a_costly_check_within_its_share_of_the_time() -> None:
    assert next_due(100.0, 100.01, 5.0, None) == 100.01 + 5.0  # no share: the interval after the run
    assert next_due(100.0, 100.01, 5.0, 0.02) == 100.01 + 5.0  # a cheap run: the interval rules
    assert next_due(100.0, 100.4, 5.0, 0.02) == pytest.approx(120.0)  # 0.4 s is 2 % of 20 s
    assert next_due(100.0, 102.0, 5.0, 0.02) == pytest.approx(200.0)  # slower still (a loaded machine): later
    assert next_due(100.0, 100.4, 5.0, 0.0) == 100.4 + 5.0  # no share set (0): the interval


def test_a_check_with_a_share_is_scheduled_after_its_run_by_its_cost() -> None:
    """The runner measures the run on its own clock: a run that took 1 s with a 5 % share runs again 20 s
    after it began, not 0.5 s after it ended."""
    clock = FakeClock()
    pools = Pools({"poll": 1, "io": 1, "cpu": 1, "processes": 1}, clock)
    policy = RetryPolicy("test", wait=wait_fixed(0), stop=stop_after_attempt(1))
    runner = SchedulerRunner(Scheduler({"poll": 1, "io": 1, "cpu": 1}), pools, clock, lambda kind: policy,
                             max_sleep=0.05)
    ran = threading.Event()
    began = clock.now()

    def run() -> None:
        clock.jump(1.0)  # the run's cost, as the runner's clock sees it
        ran.set()

    runner.start()
    try:
        PeriodicCheck("costly", "a costly check", run, lambda: 0.5, max_share=0.05).schedule(
            runner, began, lambda: True)
        assert ran.wait(WAIT)
        for _ in range(int(WAIT / 0.01)):  # the next run is scheduled once this one's action returns
            pending = [op for op, _ in runner.explain(lambda op: op.key == OpKey.session("costly"))
                       if op.state is not State.RUNNING]
            if pending:
                break
            ran.wait(0.01)
        assert [op.due for op in pending] == [pytest.approx(began + 20.0)]
    finally:
        runner.stop()
        runner.join(WAIT)
        pools.shutdown(wait=True)
