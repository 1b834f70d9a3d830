"""Retry policies: evaluated into due times, transient vs permanent errors."""

from __future__ import annotations

from tenacity import stop_after_attempt, wait_exponential

from GangaMonitoring.core.retry import PermanentError, RetryPolicy, TransientError, is_transient
from GangaMonitoring.core.work import Kind, Operation, OpKey


def failed_op(attempts: int, submitted_at: float = 0.0) -> Operation:
    o = Operation(key=OpKey("k"), kind=Kind.POLL, backend="B", priority=2, due=0)
    o.attempts, o.submitted_at = attempts, submitted_at
    return o


def test_backoff_grows_and_stops_after_the_last_attempt() -> None:
    policy = RetryPolicy("t", wait=wait_exponential(multiplier=1, max=8), stop=stop_after_attempt(4))
    dues = [policy.next_due(failed_op(n), TransientError("x"), now=100) for n in (1, 2, 3, 4)]
    assert dues == [101, 102, 104, None]


def test_jittered_default_stays_within_its_bounds() -> None:
    policy = RetryPolicy("t")
    for attempt in range(1, 4):
        due = policy.next_due(failed_op(attempt), OSError("x"), now=0)
        assert due is not None and 2 ** (attempt - 1) <= due <= 2 ** (attempt - 1) + 1


def test_permanent_errors_are_not_retried() -> None:
    policy = RetryPolicy("t")
    assert policy.next_due(failed_op(1), PermanentError("no such job"), now=0) is None
    assert not is_transient(TypeError("bug")) and is_transient(KeyError("half-written file"))


def test_give_up_after_a_delay_counts_from_the_first_attempt_across_retries() -> None:
    from tenacity import stop_after_delay, wait_fixed

    from GangaMonitoring.core.scheduler import Scheduler

    policy = RetryPolicy("output", wait=wait_fixed(10), stop=stop_after_delay(25))
    scheduler = Scheduler({"poll": 1})
    scheduler.submit(failed_op(0), now=0)
    dues = []
    now = 0.0
    while True:
        [op] = scheduler.pop_ready(now)
        due = policy.next_due(op, TransientError("outage"), now)
        dues.append(due)
        if due is None:
            break
        scheduler.retry(op, now, due, "outage")
        now = due
    # retries at 10, 20, 30; the failure at t=30 is 30 s >= 25 s after the first start: give up
    assert dues == [10, 20, 30, None]
