"""The adaptive concurrency limit (AIMD) on virtual time: it finds a service's capacity unconfigured."""

from __future__ import annotations

import itertools
import statistics

import pytest

from GangaMonitoring.core.adaptive import AdaptiveSettings, ConcurrencyLimits
from GangaMonitoring.core.breaker import BreakerBoard, BreakerSettings
from GangaMonitoring.core.retry import Fault
from GangaMonitoring.core.scheduler import Scheduler
from GangaMonitoring.core.work import Kind, Operation, OpKey, PriorityClass

POOL_SIZE = 16


def settings(**changes: object) -> AdaptiveSettings:
    values: dict[str, object] = {"initial": 4, "maximum": POOL_SIZE}
    values.update(changes)
    return AdaptiveSettings(**values)  # type: ignore[arg-type]


def limits(fixed: dict[str, int] | None = None, **changes: object) -> ConcurrencyLimits:
    chosen = settings(**changes)
    return ConcurrencyLimits(lambda backend, _pool: (fixed or {}).get(backend), lambda _pool: chosen)


def run_against_service(capacity: int, operations: int, *, base: float = 0.05, units: int = 1,
                        error_above: int | None = None, limit_trace: list[int] | None = None) -> Scheduler:
    """Drive a Scheduler with adaptive limits against a simulated service, on virtual time.

    The service serves ``capacity`` requests at once and shares itself
    between more (processor sharing): with ``n`` operations in it, each
    progresses at ``min(1, capacity / n)`` of full speed, so an operation of
    ``units`` requests takes ``units x base`` alone and ``n / capacity``
    times that in a crowd.  With ``error_above``, an operation started while
    more than that many run fails with a service error.  There is always
    more work than the limit (a backlog, as in a burst).
    """
    never_open = BreakerBoard(lambda: BreakerSettings(failures_to_open=10**9))  # this is about limits alone
    s = Scheduler({"poll": POOL_SIZE}, limits=limits(), breakers=never_open)
    now = 0.0
    submitted = done = 0
    remaining: dict[int, list] = {}  # seq -> [work left in seconds at full speed, op, fails]
    while done < operations:
        while submitted - done < 4 * POOL_SIZE:  # keep a backlog
            s.submit(Operation(key=OpKey("update", submitted), kind=Kind.POLL, backend="B",
                               priority=PriorityClass.POLL, due=now), now)
            submitted += 1
        for op in s.pop_ready(now):
            op.units = units
            fails = error_above is not None and len(remaining) + 1 > error_above
            remaining[op.seq] = [base * units, op, fails]
        rate = min(1.0, capacity / len(remaining))
        seq = min(remaining, key=lambda k: remaining[k][0])
        elapsed = remaining[seq][0] / rate
        now += elapsed
        for entry in remaining.values():
            entry[0] -= elapsed * rate
        _, op, fails = remaining.pop(seq)
        if fails:
            s.complete(op, now, error="HTTP 503", fault=Fault.BACKEND)
        else:
            s.complete(op, now)
        done += 1
        if limit_trace is not None:
            limit_trace.append(s.limits.limit("B", "poll") or 0)
    return s


def test_it_finds_a_service_capacity_of_8_with_no_configuration() -> None:
    trace: list[int] = []
    run_against_service(capacity=8, operations=3000, limit_trace=trace)
    settled = trace[1000:]
    # a request or two queued at the service keeps it busy: the limit settles just above its capacity
    assert 8 <= statistics.median(settled) <= 11, statistics.median(settled)
    assert max(settled) < POOL_SIZE  # it never sat at the pool's size: the latency stopped it
    assert min(settled) >= 6  # cuts are by a quarter, never a collapse


@pytest.mark.parametrize("capacity", [3, 12])
def test_the_limit_follows_the_capacity(capacity: int) -> None:
    trace: list[int] = []
    run_against_service(capacity=capacity, operations=3000, limit_trace=trace)
    assert capacity <= statistics.median(trace[1000:]) <= capacity + 3


def test_slow_start_doubles_until_the_service_queues_then_adds_one() -> None:
    """A burst must find a roomy service's capacity in a few windows, not one window per slot."""
    trace: list[int] = []
    scheduler = run_against_service(capacity=64, operations=200, limit_trace=trace)
    raised = sorted(set(trace))
    assert raised[:3] == [4, 8, 16], raised  # doubled: +1 a window would still be at 6 or 7
    assert max(trace) == POOL_SIZE
    entry = scheduler.limits.adaptive["B", "poll"]
    assert entry.slow_start and entry.cuts == 0 and "slow start" in entry.reason
    # past a capacity of 8 the doubled limit shows queueing: slow start ends, then one at a time
    trace = []
    scheduler = run_against_service(capacity=6, operations=600, limit_trace=trace)
    entry = scheduler.limits.adaptive["B", "poll"]
    assert not entry.slow_start
    steps = [b - a for a, b in itertools.pairwise(trace) if b > a]
    assert steps[0] == 4 and all(step == 1 for step in steps[1:]), steps


def test_latency_per_unit_makes_operations_of_different_sizes_comparable() -> None:
    trace: list[int] = []
    run_against_service(capacity=8, operations=2000, units=7, limit_trace=trace)
    assert 8 <= statistics.median(trace[800:]) <= 11


def test_service_errors_halve_the_limit_at_most_once_a_window() -> None:
    trace: list[int] = []
    run_against_service(capacity=100, operations=2000, error_above=6, limit_trace=trace)
    assert max(trace[500:]) <= 8  # errors above 6 at once keep it there, though latency would allow 16
    s = Scheduler({"poll": POOL_SIZE}, limits=limits(initial=8),
                  breakers=BreakerBoard(lambda: BreakerSettings(failures_to_open=10**9)))
    for n in range(8):
        s.submit(Operation(key=OpKey("u", n), kind=Kind.POLL, backend="B", priority=PriorityClass.POLL, due=0), 0)
    ops = s.pop_ready(0)
    for op in ops:  # eight at once fail in one outage: one cut, not eight
        s.complete(op, 1.0, error="HTTP 500", fault=Fault.BACKEND)
    entry = s.limits.adaptive["B", "poll"]
    assert entry.limit == 4 and entry.cuts == 1 and entry.reason.startswith("cut to 4: service error: HTTP 500")
    s.submit(Operation(key=OpKey("later"), kind=Kind.POLL, backend="B", priority=PriorityClass.POLL, due=2), 2)
    [later] = s.pop_ready(2)
    s.complete(later, 3.0, error="HTTP 500", fault=Fault.BACKEND)  # started after the cut: it counts
    assert entry.limit == 2 and entry.cuts == 2


def test_the_limit_rises_only_when_it_was_reached() -> None:
    s = Scheduler({"poll": POOL_SIZE}, limits=limits(initial=4))
    now = 0.0
    for n in range(40):  # one at a time: the limit of 4 is never pressed against
        s.submit(Operation(key=OpKey("u", n), kind=Kind.POLL, backend="B", priority=PriorityClass.POLL, due=now), now)
        [op] = s.pop_ready(now)
        now += 0.05
        s.complete(op, now)
    entry = s.limits.adaptive["B", "poll"]
    assert entry.limit == 4 and entry.raises == 0 and entry.baseline == pytest.approx(0.05)


def test_local_work_and_parents_are_no_samples() -> None:
    s = Scheduler({"poll": POOL_SIZE}, limits=limits(initial=2))
    for n, kind in enumerate([Kind.CALL, Kind.POLL] * 10):
        s.submit(Operation(key=OpKey("x", n), kind=kind, backend="B", priority=PriorityClass.POLL, due=0), 0)
    for op in s.pop_ready(0):
        op.units = 0 if op.kind is Kind.POLL else 1
        s.complete(op, 5.0)
    assert s.limits.adaptive["B", "poll"].baseline is None
    assert s.limits.statistics() == []  # nothing measured: nothing to show


def test_a_configured_limit_is_fixed_and_off_means_unlimited() -> None:
    fixed = limits({"Slurm": 2})
    assert fixed.limit("Slurm", "poll") == 2 and fixed.limit("Other", "poll") == 4
    assert limits(enabled=False).limit("Other", "poll") is None
    s = Scheduler({"poll": POOL_SIZE}, limits=fixed)
    for n in range(6):
        s.submit(Operation(key=OpKey("u", n), kind=Kind.POLL, backend="Slurm", priority=PriorityClass.POLL, due=0), 0)
    assert len(s.pop_ready(0)) == 2
    [shown] = s.limits.statistics()  # a configured limit is shown as such
    assert (shown.backend, shown.limit, shown.adaptive, shown.reason) == ("Slurm", 2, False, "configured")


def test_the_limit_stays_within_the_pool_when_the_pool_shrinks() -> None:
    current = {"maximum": 16}
    chosen = ConcurrencyLimits(lambda _b, _p: None, lambda _pool: settings(initial=12, maximum=current["maximum"]))
    assert chosen.limit("B", "poll") == 12
    current["maximum"] = 5
    assert chosen.limit("B", "poll") == 5


def test_the_reason_is_printable() -> None:
    s = run_against_service(capacity=8, operations=600)
    [entry] = s.limits.statistics()
    assert entry.backend == "B" and entry.adaptive and entry.raises and entry.limit > 4
    assert "per unit, best 50 ms: about" in entry.reason and entry.baseline_ms == pytest.approx(50, rel=0.1)
    assert s.limits.adaptive["B", "poll"].describe(1e9).startswith(f"{entry.limit} (adaptive; ")
