"""HeldLock: the flusher lets a master's lock go once held a budget, never a lock held by an outer caller."""

from __future__ import annotations

import threading
import time

from GangaMonitoring.repository.flush import HeldLock


def once(lock: object) -> bool:
    """The flush's own hold, as its caller tells it (the runtime package reads the lock, Ganga's flusher says)."""
    return True


def not_once(lock: object) -> bool:
    return False


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_lock_is_let_go_only_after_the_budget_and_only_inside_a_bounded_flush() -> None:
    clock, lock, root = Clock(), threading.RLock(), object()
    held = HeldLock(budget=0.005, clock=clock)
    with lock:
        assert not held.yield_to_writers(root, lock, once)  # not in a bounded flush
        with held.bounded():
            assert not held.yield_to_writers(root, lock, once)  # the hold begins
            clock.now = 0.004
            assert not held.yield_to_writers(root, lock, once)
            clock.now = 0.006
            assert held.yield_to_writers(root, lock, once)
            assert lock._is_owned()  # taken back, once: released once more, it is free
            lock.release()
            assert not lock._is_owned()
            lock.acquire()
            clock.now = 0.008
            assert not held.yield_to_writers(root, lock, once)  # a new hold began at the yield
            with held.held():
                clock.now = 1.0
                assert not held.yield_to_writers(root, lock, once)
    assert held.yields == 1


def test_a_lock_held_by_an_outer_caller_too_is_never_let_go() -> None:
    clock, lock, root = Clock(), threading.RLock(), object()
    held = HeldLock(budget=0.0, clock=clock)
    asked: list[object] = []

    def outer_holds_it_too(asked_of: object) -> bool:
        asked.append(asked_of)
        return False

    with lock, lock, held.bounded():
        assert not held.yield_to_writers(root, lock, outer_holds_it_too)
        lock.release()
        assert lock._is_owned()  # still held twice before the release above
        lock.acquire()
    assert held.yields == 0 and asked == [lock]


def test_a_writer_waiting_for_the_lock_gets_it_at_the_yield() -> None:
    lock, root = threading.RLock(), object()
    held = HeldLock(budget=0.0)
    done = threading.Event()

    def writer() -> None:
        with lock:
            held.note(root, "subjob 7")
            done.set()

    with held.bounded(), lock:
        thread = threading.Thread(target=writer)
        thread.start()
        while not done.is_set():  # it waits for the lock; each yield lets it in
            held.yield_to_writers(root, lock, once)
        assert held.take_noted(root) == ["subjob 7"]
        assert not held.noting
    thread.join()


def test_a_subjob_saved_after_its_change_is_not_saved_again_and_a_failed_flush_stops_noting() -> None:
    lock, root = threading.RLock(), object()
    held = HeldLock(budget=0.0)
    held.note(root, "a")  # no flush let the lock go: nothing is noted
    assert not held.noting
    with held.bounded(), lock:
        held.yield_to_writers(root, lock, once)
        held.note(root, "a")
        held.note(root, "b")
        held.saving(root, "a")
        assert held.noting
    # the flush ended without writing its index (it failed): the changes stay dirty, noting stops
    assert not held.noting
    assert held.take_noted(root) == []


def test_a_write_at_the_prompt_is_handed_the_lock_at_the_flush_s_next_save() -> None:
    """No budget ends and a let-go lasts no time (a loaded machine: the waiting thread gets no core in it):
    a plain writer would wait for the whole flush; the prompt's write gets the lock at the next save."""
    lock, root = threading.RLock(), object()
    held = HeldLock(budget=3600.0, window=0.0, handoff=60.0)
    order: list[str] = []

    def prompt() -> None:
        with held.prompt_first(root, lock):
            order.append("write")

    with held.bounded(), lock:
        thread = threading.Thread(target=prompt)
        thread.start()
        while not held.prompt_waiting(root):  # the write waits for the lock
            time.sleep(0.001)
        assert held.yield_to_writers(root, lock, once)  # let go, taken back once the write is done
        order.append("save 1")
        assert not held.yield_to_writers(root, lock, once)  # nobody waits, the budget runs: held on
        order.append("save 2")
    thread.join()
    assert order == ["write", "save 1", "save 2"]
    assert held.handoffs == 1 and not held.prompt_waiting(root)


def test_a_write_at_the_prompt_with_no_flush_running_takes_the_lock_as_any_writer() -> None:
    lock, root = threading.RLock(), object()
    held = HeldLock()
    with held.prompt_first(root, lock):
        assert lock._is_owned() and not held.prompt_waiting(root)
    with lock, held.prompt_first(root, lock):  # already its own: taken again, nothing asked of a flush
        lock.release()
        assert lock._is_owned()  # held twice
        lock.acquire()
    assert held.handoffs == 0 and not lock._is_owned()
