"""The longer switch interval of what the user typed (``runtime/gil.py``): shared, and always put back."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator

import pytest
from tenacity import stop_after_attempt, wait_fixed

from GangaMonitoring.core.clock import FakeClock, SystemClock
from GangaMonitoring.core.retry import RetryPolicy
from GangaMonitoring.core.scheduler import Scheduler
from GangaMonitoring.core.work import Kind, Operation, OpKey, PriorityClass
from GangaMonitoring.runtime.gil import PromptTurn, SwitchInterval
from GangaMonitoring.runtime.pools import Pools
from GangaMonitoring.runtime.runner import SchedulerRunner


@pytest.fixture(autouse=True)
def default_interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def test_longer_within_and_put_back_after() -> None:
    hold = SwitchInterval(0.05)
    with hold.longer():
        assert sys.getswitchinterval() == pytest.approx(0.05, abs=1e-5)
    assert sys.getswitchinterval() == pytest.approx(0.005, abs=1e-5)


def test_nested_and_concurrent_holders_share_one_change() -> None:
    hold = SwitchInterval(0.05)
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with hold.longer():
            inside.set()
            leave.wait(30)

    thread = threading.Thread(target=other)
    with hold.longer():
        thread.start()
        assert inside.wait(30)
        with hold.longer():
            assert sys.getswitchinterval() == pytest.approx(0.05, abs=1e-5)
    assert sys.getswitchinterval() == pytest.approx(0.05, abs=1e-5)  # the other thread still holds it
    leave.set()
    thread.join(30)
    assert sys.getswitchinterval() == pytest.approx(0.005, abs=1e-5) and hold.entered == 3


def test_a_change_made_meanwhile_is_kept_and_a_longer_interval_is_not_shortened() -> None:
    hold = SwitchInterval(0.05)
    with hold.longer():
        sys.setswitchinterval(0.02)  # someone else's
    assert sys.getswitchinterval() == pytest.approx(0.02, abs=1e-5)
    sys.setswitchinterval(0.1)
    with hold.longer():
        assert sys.getswitchinterval() == pytest.approx(0.1, abs=1e-5)
    assert sys.getswitchinterval() == pytest.approx(0.1, abs=1e-5)


def _waiting(turn: PromptTurn, count: int) -> bool:
    """Until ``count`` threads wait in ``turn`` (a bound only a broken turn reaches)."""
    deadline = time.monotonic() + 20
    while turn.waiting != count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def test_no_turn_no_wait() -> None:
    turn = PromptTurn(FakeClock(), longest=0.2)
    assert turn.wait() == 0.0 and turn.held == 0


def test_a_worker_waits_for_the_prompt_s_turn_to_end() -> None:
    clock = FakeClock()
    turn = PromptTurn(clock, longest=0.2)
    ran: list[bool] = []
    worker = threading.Thread(target=lambda: (turn.wait(), ran.append(turn.on)))
    with turn.typed():
        worker.start()
        assert _waiting(turn, 1)
        clock.jump(0.05)
        with turn.typed():  # nested (a print inside a table): one turn
            pass
        assert turn.on and not ran
    worker.join(20)
    assert ran == [False] and turn.turns == 1 and turn.held == 1 and turn.cut_short == 0
    assert turn.held_seconds == pytest.approx(0.05)


def test_a_turn_holds_a_worker_at_most_longest_after_it_began() -> None:
    clock = FakeClock()
    turn = PromptTurn(clock, longest=0.2)
    ran: list[bool] = []
    worker = threading.Thread(target=lambda: (turn.wait(poll=0.01), ran.append(turn.on)))
    with turn.typed():
        clock.jump(0.15)  # the turn began before the worker came
        worker.start()
        assert _waiting(turn, 1)
        clock.jump(0.06)
        worker.join(20)
        assert ran == [True] and turn.cut_short == 1
        assert turn.wait() == 0.0 and turn.cut_short == 2  # past its bound, the same turn holds nobody
    assert "cut_short" in repr(turn)


def test_the_runner_starts_no_operation_while_the_prompt_has_its_turn() -> None:
    """Forced: the prompt's turn is on before the operation is submitted; it starts only once the turn ends
    (without the runner's wait it ran at once, during the turn)."""
    clock = SystemClock()
    turn = PromptTurn(clock, longest=30.0)
    pools = Pools({"poll": 1, "io": 1, "cpu": 1, "processes": 1}, clock)
    scheduler = Scheduler({"poll": 1, "io": 1, "cpu": 1})
    policy = RetryPolicy("test", wait=wait_fixed(0), stop=stop_after_attempt(1))
    runner = SchedulerRunner(scheduler, pools, clock, lambda kind: policy, max_sleep=0.05, turn=turn)
    runner.start()
    try:
        seen: list[bool] = []
        done = threading.Event()
        with turn.typed():
            runner.submit(Operation(key=OpKey("poll"), kind=Kind.CALL, backend="B", priority=PriorityClass.POLL,
                                    due=0.0, action=lambda op: (seen.append(turn.on), done.set())))
            runner.wake()
            assert _waiting(turn, 1)  # the dispatcher (or a worker) waits for the turn
            assert not done.is_set()
        assert done.wait(20) and seen == [False]
    finally:
        runner.stop()
        runner.join(20)
        pools.shutdown(wait=True)
