"""Fan-out with fan-in on real threads, synchronised with events and barriers (no sleeps).

Jobs are plain ``(top, sub)`` keys; an update task records what it was given.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tenacity import stop_after_attempt, wait_fixed

from GangaMonitoring.core.clock import FakeClock, SystemClock
from GangaMonitoring.runtime.fanout import FanOut, Parent
from GangaMonitoring.runtime.isolate import CallBudget
from GangaMonitoring.runtime.pools import Pools
from GangaMonitoring.core.retry import RetryPolicy
from GangaMonitoring.runtime.runner import SchedulerRunner
from GangaMonitoring.core.scheduler import Scheduler
from GangaMonitoring.core.work import JobKey, Kind, Operation, OpKey, PriorityClass

WAIT = 20.0  # generous bound for events: only a broken fan-out reaches it
Job = tuple[int, "int | None"]


class Harness:
    """A runner with ``poll_workers`` threads, a backend limit, and a FanOut over it."""

    def __init__(self, poll_workers: int, limit: int, clock: Any = None) -> None:
        self.clock = clock or SystemClock()
        self.pools = Pools({"poll": poll_workers, "io": 1, "cpu": 1, "processes": 1}, self.clock)
        self.scheduler = Scheduler({"poll": poll_workers, "io": 1, "cpu": 1}, backend_limit=lambda b, p: limit)
        policy = RetryPolicy("test", wait=wait_fixed(0), stop=stop_after_attempt(3))
        self.runner = SchedulerRunner(self.scheduler, self.pools, self.clock, lambda kind: policy, max_sleep=0.05)
        self.ended: list[tuple[Any, Operation]] = []
        self.outcomes: list[list[JobKey]] = []
        self.fanout = FanOut(self.runner, self.clock, call=lambda task, jobs: task(jobs),
                             identify=lambda job: job, on_child_done=lambda c, op: self.ended.append((c, op)),
                             on_outcomes=lambda fine, alone: self.outcomes.append(fine))
        self.runner.start()

    def parent_poll(self, name: str, body: Callable[[Parent], None], *, chunk_size: int | None = 1,
                    wait_for: float = WAIT) -> tuple[threading.Event, dict[str, Any]]:
        """Submit a poll that runs ``body(parent)`` inside a fan-out, then waits for its children."""
        done, result = threading.Event(), {}

        def action(op: Operation) -> None:
            with self.fanout.parent(op, "B", deadline=self.clock.now() + wait_for, chunk_size=chunk_size,
                                    budget=CallBudget(40)) as parent:
                body(parent)
            result["all_ended"] = self.fanout.wait(parent)
            result["parent"] = parent

        self.runner.submit(Operation(key=OpKey.poll(name, "B"), kind=Kind.POLL, backend="B",
                                     priority=PriorityClass.POLL, due=0.0, action=action),
                           listener=lambda op: done.set())
        return done, result

    def close(self) -> None:
        self.runner.stop()
        self.runner.join(WAIT)
        self.pools.shutdown(wait=True)


@pytest.fixture
def harness_factory() -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(*args: Any, **kwargs: Any) -> Harness:
        made.append(Harness(*args, **kwargs))
        return made[-1]

    yield make
    for harness in made:
        harness.close()


def jobs(n: int, top: int = 1) -> list[Job]:
    return [(top, sub) for sub in range(n)]


def test_children_run_at_once_up_to_the_limit_the_parent_helping(harness_factory: Callable[..., Harness]) -> None:
    # limit 3: the parent holds one slot, two children take the others, and the parent runs a third itself
    h = harness_factory(poll_workers=8, limit=3)
    meet = threading.Barrier(3, timeout=WAIT)
    seen: list[Job] = []

    def update(batch: list[Job]) -> None:
        seen.extend(batch)
        if batch[0][1] < 3:
            meet.wait()  # broken (and raising) unless three run at once

    done, result = h.parent_poll("poll", lambda p: h.fanout.add(p, update, jobs(5)))
    assert done.wait(WAIT)
    assert result["all_ended"] and not result["parent"].failures()
    assert sorted(seen) == jobs(5) and not meet.broken
    assert h.fanout.in_flight() == 0


def test_a_parent_alone_in_the_pool_lends_its_slot_to_its_children(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(poll_workers=1, limit=4)  # the parent holds the only slot: no deadlock
    seen: list[Job] = []
    threads: set[str] = set()

    def update(batch: list[Job]) -> None:
        seen.extend(batch)
        threads.add(threading.current_thread().name)

    parent_thread: list[str] = []
    done, result = h.parent_poll("poll", lambda p: (parent_thread.append(threading.current_thread().name),
                                                    h.fanout.add(p, update, jobs(6))))
    assert done.wait(WAIT) and result["all_ended"]
    assert sorted(seen) == jobs(6)
    history = [entry.detail for entry in h.runner.history() if entry.event == "started"]
    assert sum("in the slot of the operation that waits for it" in d for d in history) == 6
    assert parent_thread[0] not in threads  # never in the parent's own thread: its deadline holds


def test_a_job_in_flight_is_not_updated_again_and_its_child_is_waited_for(
        harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(poll_workers=4, limit=4)
    inside, release = threading.Event(), threading.Event()
    calls: Counter[Job] = Counter()

    def slow(batch: list[Job]) -> None:
        calls.update(batch)
        inside.set()
        assert release.wait(WAIT)

    first, _ = h.parent_poll("poll", lambda p: h.fanout.add(p, slow, jobs(2)), chunk_size=None)  # one child
    assert inside.wait(WAIT)
    second, second_result = h.parent_poll("requested", lambda p: h.fanout.add(p, calls.update, jobs(3)))
    assert h.fanout.holder((1, 0)) is not None  # the first poll's child holds it
    assert not second.wait(0.2)  # it waits for the first poll's child (a bounded negative check)
    release.set()
    assert first.wait(WAIT) and second.wait(WAIT)
    assert calls == Counter({(1, 0): 1, (1, 1): 1, (1, 2): 1})  # each job updated once
    assert len(second_result["parent"].joined) == 1 and len(second_result["parent"].own) == 1
    assert second_result["all_ended"]


def test_at_its_deadline_a_parent_ends_and_its_children_go_on(harness_factory: Callable[..., Harness]) -> None:
    clock = FakeClock()
    h = harness_factory(poll_workers=4, limit=4, clock=clock)
    inside, release, updated = threading.Event(), threading.Event(), threading.Event()

    def slow(batch: list[Job]) -> None:
        inside.set()
        assert release.wait(WAIT)
        updated.set()

    def body(parent: Parent) -> None:
        h.fanout.add(parent, slow, jobs(1))
        assert inside.wait(WAIT)
        clock.jump(10)  # the poll interval passes while the child still runs

    done, result = h.parent_poll("poll", body, wait_for=5)
    assert done.wait(WAIT) and result["all_ended"] is False
    child = h.fanout.holder((1, 0))
    assert child is not None  # still in flight: the next poll skips it
    release.set()
    assert updated.wait(WAIT) and child.done.wait(WAIT)
    assert h.fanout.in_flight() == 0 and child.error is None


def test_one_bad_job_is_isolated_in_its_chunk_and_fails_the_parent(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(poll_workers=4, limit=4)
    updated: list[Job] = []

    def update(batch: list[Job]) -> None:
        if (1, 5) in batch:
            raise KeyError("job 1.5 is unknown to the service")
        updated.extend(batch)

    done, result = h.parent_poll("poll", lambda p: h.fanout.add(p, update, jobs(8)), chunk_size=4)
    assert done.wait(WAIT)
    assert sorted(updated) == [j for j in jobs(8) if j != (1, 5)]
    [failed] = result["parent"].failures()
    assert "1 of 4 B job(s) could not be updated: job 1.5: KeyError" in (failed.error or "")
    assert not failed.service_down  # three of its jobs were updated: the service answers
    assert [op.attempts for c, op in h.ended if c is failed] == [1]  # a child is not retried on its own


def test_a_chunk_that_fails_whole_says_the_service_is_down(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(poll_workers=4, limit=4)

    def down(batch: list[Job]) -> None:
        raise ConnectionError("connection refused")

    done, result = h.parent_poll("poll", lambda p: h.fanout.add(p, down, jobs(4)), chunk_size=2)
    assert done.wait(WAIT)
    failures = result["parent"].failures()
    assert len(failures) == 2 and all(c.service_down for c in failures)
    assert all("BackendPollFailed" in (c.error or "") for c in failures)


def test_calls_are_chunked_with_keys_of_their_own(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(poll_workers=4, limit=4)
    sizes: list[int] = []
    done, result = h.parent_poll("poll", lambda p: h.fanout.add(p, lambda b: sizes.append(len(b)), jobs(10)),
                                 chunk_size=3)
    assert done.wait(WAIT)
    assert sorted(sizes) == [1, 3, 3, 3]
    keys = [c.key for c in result["parent"].own]
    assert keys == [OpKey.update("B", JobKey(1, first)) for first in (0, 3, 6, 9)]



def test_a_hung_update_releases_its_jobs_and_its_late_return_changes_nothing(
        harness_factory: Callable[..., Harness]) -> None:
    """The hung call returns after a newer poll took its job: the newer child keeps it, nothing counts twice."""
    clock = FakeClock()
    h = harness_factory(poll_workers=1, limit=4, clock=clock)
    inside, release = threading.Event(), threading.Event()
    newer_inside, newer_release = threading.Event(), threading.Event()

    def hangs(batch: list[Job]) -> None:
        inside.set()
        assert release.wait(WAIT)  # a service call that does not return

    # the parent holds the only slot: it lends it to its child, which runs on a thread of its own
    first, first_result = h.parent_poll("poll", lambda p: h.fanout.add(p, hangs, jobs(1)),
                                        wait_for=5)  # its children hang after 4 × 5 s
    assert inside.wait(WAIT)
    clock.jump(5)  # the poll interval passes: the parent stops waiting, its child adopts its slot
    assert first.wait(WAIT) and first_result["all_ended"] is False
    assert any(e.event == "adopted" for e in h.runner.history())
    [hung_child] = first_result["parent"].own
    clock.jump(15)  # 20 s since the update started
    h.runner.wake()
    assert hung_child.done.wait(WAIT) and hung_child.hung
    assert h.fanout.holder((1, 0)) is None  # released: the next poll updates it
    [call] = h.runner.hung_calls()
    assert str(call).startswith("a call to B's update has hung for 20 s in thread GangaMon-poll_")
    assert "(update job 1.0 (B))" in str(call)
    [poll_pool] = [p for p in h.pools.statistics() if p.name == "poll"]
    assert len(poll_pool.hung) == 1 and poll_pool.busy == 0  # its thread is stuck, shown apart

    def newer(batch: list[Job]) -> None:
        newer_inside.set()
        assert newer_release.wait(WAIT)

    second, _ = h.parent_poll("requested", lambda p: h.fanout.add(p, newer, jobs(1)))  # the one worker is free
    assert newer_inside.wait(WAIT)
    newer_child = h.fanout.holder((1, 0))
    assert newer_child is not None and newer_child is not hung_child
    release.set()  # the hung call returns, late
    assert wait_for_history(h, "returned late")
    assert h.fanout.holder((1, 0)) is newer_child  # not released by the late return
    assert h.outcomes == []  # the late call reported nothing
    newer_release.set()
    assert second.wait(WAIT) and newer_child.done.wait(WAIT)
    assert h.outcomes == [[(1, 0)]] and h.fanout.in_flight() == 0
    recent = h.runner.recent()
    assert recent[("B", "update", "hung")] == 1 and recent[("B", "update", "ok")] == 1
    assert ("B", "update", "failed") not in recent
    assert h.runner.hung_calls() == [] and h.runner.statistics().hung == 0


def wait_for_history(h: Harness, event: str) -> bool:
    done = threading.Event()
    for _ in range(int(WAIT / 0.05)):
        if any(e.event == event for e in h.runner.history()):
            done.set()
            break
        done.wait(0.05)
    return done.is_set()
