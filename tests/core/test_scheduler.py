"""The scheduler as a pure state machine: exact virtual times, no threads."""

from __future__ import annotations

import pytest

from GangaMonitoring.core.scheduler import Scheduler
from GangaMonitoring.core.work import Kind, Operation, OpKey, PriorityClass, State

P = PriorityClass


def op(name: str, priority: PriorityClass = P.POLL, due: float = 0.0, backend: str = "B",
       kind: Kind = Kind.POLL, jobs: set[int] | None = None) -> Operation:
    return Operation(key=OpKey(name), kind=kind, backend=backend, priority=priority, due=due, job_ids=jobs or set())


def names(ops: list[Operation]) -> list[str]:
    return [o.key.what for o in ops]  # type: ignore[misc]


def scheduler(poll: int = 10, aging: float = 30.0, limit: int | None = None) -> Scheduler:
    return Scheduler({"poll": poll, "io": 10, "cpu": 10}, aging_seconds=aging,
                     backend_limit=lambda backend, pool: limit)


def test_priority_classes_run_in_order_then_fifo() -> None:
    s = scheduler(poll=10)
    for name, prio in [("q", P.QUEUED), ("p1", P.POLL), ("u", P.USER), ("p2", P.POLL)]:
        s.submit(op(name, prio, kind=Kind.CALL), now=0)  # CALL runs on the poll pool: one queue
    s.submit(op("f", P.FINALISE, kind=Kind.CALL), now=0)
    assert names(s.pop_ready(0)) == ["u", "f", "p1", "p2", "q"]


@pytest.mark.parametrize(("waited", "first"), [(59.0, "u"), (61.0, "q")])
def test_aging_a_queued_op_overtakes_a_user_op_after_three_classes_of_waiting(waited: float, first: str) -> None:
    s = scheduler(poll=1, aging=20.0)
    s.submit(op("q", P.QUEUED), now=0)
    s.submit(op("u", P.USER, due=waited), now=0)  # QUEUED(3) - USER(0) = 3 classes = 60 s
    assert names(s.pop_ready(waited)) == [first]


def test_nothing_starves_behind_a_steady_stream_of_user_work() -> None:
    s = scheduler(poll=1, aging=10.0)
    s.submit(op("queued", P.QUEUED), now=0)
    ran_at = None
    for t in range(0, 200):
        s.submit(op(f"user{t}", P.USER), now=t)
        [started] = s.pop_ready(t)
        s.complete(started, t + 0.5)
        if started.key == OpKey("queued"):
            ran_at = t
            break
    assert ran_at is not None and ran_at <= 31


def test_waiting_until_due_and_next_deadline() -> None:
    s = scheduler()
    s.submit(op("later", due=10.0), now=0)
    assert s.pop_ready(9.999) == [] and s.next_deadline() == 10.0
    assert names(s.pop_ready(10.0)) == ["later"] and s.next_deadline() is None


def test_pool_capacity_and_per_backend_pool_limit() -> None:
    s = scheduler(poll=3, limit=2)
    for n in range(3):
        s.submit(op(f"a{n}", backend="A"), now=0)
    s.submit(op("b0", backend="B"), now=0)
    s.submit(op("io", backend="A", kind=Kind.RETRIEVE), now=0)  # other pool: its own limit
    started = s.pop_ready(0)
    assert sorted(names(started)) == ["a0", "a1", "b0", "io"]
    assert s.find(OpKey("a2")).state is State.READY  # type: ignore[union-attr]
    assert "limit" in s.find(OpKey("a2")).waiting_reason  # type: ignore[union-attr]
    s.complete(started[0], 1)
    assert names(s.pop_ready(1)) == ["a2"]


def test_same_key_merges_keeping_earliest_due_most_urgent_class_and_all_jobs() -> None:
    s = scheduler()
    first = s.submit(op("k", P.QUEUED, due=50, jobs={1}), now=0)
    merged = s.submit(op("k", P.USER, due=20, jobs={2}), now=0)
    assert merged is first and (first.priority, first.due, first.job_ids) == (P.USER, 20, {1, 2})
    assert len(list(s.pending())) == 1


def test_a_key_never_runs_twice_at_once_and_runs_again_after() -> None:
    s = scheduler()
    s.submit(op("k"), now=0)
    [running] = s.pop_ready(0)
    again = s.submit(op("k"), now=1)
    assert again is not running and s.pop_ready(1) == []
    assert "same work is running" in again.waiting_reason
    s.complete(running, 2)
    assert s.pop_ready(2) == [again]


def test_retry_requeues_at_due_with_attempts_and_error_kept() -> None:
    s = scheduler()
    s.submit(op("k"), now=0)
    [started] = s.pop_ready(0)
    s.retry(started, now=1, due=5, error="boom")
    assert s.pop_ready(4) == [] and s.next_deadline() == 5
    [again] = s.pop_ready(5)
    assert again.attempts == 2 and again.last_error == "boom"
    s.complete(again, 6, error="still boom")
    stats = s.statistics(6)
    assert stats.failed == {"poll": 1} and stats.running == 0 and s.is_idle()


def test_boost_moves_matching_work_to_the_front() -> None:
    s = scheduler(poll=1)
    s.submit(op("other", P.POLL), now=0)
    s.submit(op("mine", P.QUEUED, due=100, jobs={7}), now=0)
    boosted = s.boost(lambda o: 7 in o.job_ids, now=1)
    assert names(boosted) == ["mine"]
    assert names(s.pop_ready(1)) == ["mine"]


def test_cancel_withdraws_pending_work_only() -> None:
    s = scheduler()
    s.submit(op("k", due=10), now=0)
    assert s.cancel(OpKey("k"), now=1) and not s.cancel(OpKey("k"), now=1)
    assert s.pop_ready(20) == [] and s.is_idle()


def test_statistics_and_history_say_what_waits_and_why() -> None:
    s = scheduler(poll=1)
    s.submit(op("a"), now=0)
    s.submit(op("b"), now=0)
    s.submit(op("c", due=30), now=0)
    s.pop_ready(0)
    stats = s.statistics(10)
    assert (stats.waiting, stats.ready, stats.running) == (1, 1, 1)
    assert stats.oldest_ready_age == 10 and stats.next_deadline_in == 20
    assert stats.by_kind == {"poll": {"waiting": 1, "ready": 1, "running": 1}}
    assert [h.event for h in s.history if h.key == OpKey("a")] == ["submitted", "started"]


def test_rejects_bad_aging_and_completing_what_does_not_run() -> None:
    with pytest.raises(ValueError):
        Scheduler({"poll": 1}, aging_seconds=0)
    s = scheduler()
    with pytest.raises(ValueError):
        s.complete(op("never"), 0)


def test_take_runs_pending_work_in_the_takers_slot() -> None:
    s = scheduler(poll=1, limit=1)
    s.submit(op("parent"), now=0)
    [parent] = s.pop_ready(0)
    s.submit(op("child"), now=0)
    assert s.pop_ready(0) == []  # the one worker and the backend's one slot are the parent's
    taken = s.take(OpKey("child"), now=1)
    assert taken is not None and taken.borrowed and taken.state is State.RUNNING
    assert s.statistics(1).running_by_pool == {"poll": 1}  # the taken work holds no slot of its own
    s.complete(taken, now=2)
    s.complete(parent, now=3)
    assert s.statistics(3).running == 0 and s.statistics(3).running_by_pool == {}


def test_take_refuses_work_not_due_running_or_held() -> None:
    from GangaMonitoring.core.breaker import BreakerBoard, BreakerSettings
    from GangaMonitoring.core.retry import Fault

    s = Scheduler({"poll": 4}, breakers=BreakerBoard(lambda: BreakerSettings(failures_to_open=1)))
    s.submit(op("later", due=5.0), now=0)
    assert s.take(OpKey("later"), now=1) is None
    s.submit(op("busy"), now=0)
    [busy] = s.pop_ready(1)
    s.submit(op("busy"), now=1)  # the same work again, parked behind the running one
    assert s.take(OpKey("busy"), now=1) is None
    s.complete(busy, now=2, error="HTTP 503", fault=Fault.BACKEND)  # the breaker of B opens
    s.submit(op("held"), now=2)
    assert s.take(OpKey("held"), now=3) is None
    child = Operation(key=OpKey("child"), kind=Kind.POLL, backend="B", priority=P.POLL, due=2, parent=OpKey("parent"))
    s.submit(child, now=2)
    assert s.take(OpKey("child"), now=3) is child  # part of its parent's attempt: breakers leave it alone


def test_children_have_a_lane_of_their_own_past_an_open_breaker() -> None:
    from GangaMonitoring.core.breaker import BreakerBoard, BreakerSettings
    from GangaMonitoring.core.retry import Fault

    s = Scheduler({"poll": 4}, breakers=BreakerBoard(lambda: BreakerSettings(failures_to_open=1)))
    s.submit(op("probe"), now=0)
    [probe] = s.pop_ready(0)
    s.complete(probe, now=1, error="HTTP 503", fault=Fault.BACKEND)
    s.submit(op("poll"), now=1)
    child = Operation(key=OpKey("child"), kind=Kind.POLL, backend="B", priority=P.POLL, due=1, parent=OpKey("poll"))
    s.submit(child, now=1)
    assert names(s.pop_ready(2)) == ["child"]
    s.complete(child, now=3, error="HTTP 503", fault=Fault.BACKEND)
    assert s.breakers.breakers["B"].consecutive_failures == 1  # the child's failure is its parent's to count


def test_a_retry_merged_into_pending_work_of_its_key_ends_and_is_not_left_running() -> None:
    s = scheduler()
    s.submit(op("k", jobs={1}), now=0)
    [failed] = s.pop_ready(0)
    s.submit(op("k", jobs={2}), now=1)  # a new request for the same work while it runs
    pending = s.retry(failed, now=2, due=10, error="OSError: transient")
    assert pending is not failed and pending.state is State.READY
    assert failed.state is State.DONE and failed.finished_at == 2  # merged: over, not a phantom "running"
    assert pending.job_ids == {1, 2} and pending.attempts == 1 and pending.last_error == "OSError: transient"
    stats = s.statistics(2)
    assert stats.running == 0 and stats.by_kind == {"poll": {"ready": 1}}
    assert [e.event for e in s.history if e.key == OpKey("k")][-1] == "merged into pending"


def test_work_past_its_hang_after_is_hung_and_a_bounded_number_of_threads_replace_it() -> None:
    s = Scheduler({"poll": 2, "io": 1, "cpu": 1}, replacement_threads=1)
    for name in ("a", "b", "c", "d"):
        hanging = op(name)
        hanging.hang_after = 10.0
        s.submit(hanging, now=0)
    a, b = s.pop_ready(0)
    assert s.hung_due(9.9) == [] and s.next_hang_at() == 10.0
    assert s.hung_due(10) == [a, b]
    assert s.declare_hung(a, 10) is True  # replaced: its slot goes back to the pool
    assert a.state is State.HUNG and s.find(a.key) is None
    [c] = s.pop_ready(10)
    assert s.declare_hung(b, 10) is False  # the pool's one replacement is taken: b keeps its slot
    assert s.pop_ready(10) == []  # d waits: b's and c's slots are taken
    stats = s.statistics(10)
    assert stats.running == 1 and stats.hung == 2 and stats.failed == {"poll": 2}
    [first, second] = s.hung_calls(12)
    assert str(second).startswith("a call to B's poll has hung for 12 s in thread (not started)")
    assert "no replacement thread left" in str(second) and "no replacement" not in str(first)
    s.returned_late(a, 30, "OSError: late")  # its replacement is free again; nothing counted twice
    assert s.pop_ready(30) == []
    s.returned_late(b, 31)  # b's slot is free at last
    assert names(s.pop_ready(31)) == ["d"]
    stats = s.statistics(31)
    assert stats.hung == 0 and stats.failed == {"poll": 2} and stats.completed == {}
    assert a.state is State.DONE and b.state is State.DONE
    assert [e.event for e in s.history if e.key == a.key] == ["submitted", "started", "hung", "returned late"]
