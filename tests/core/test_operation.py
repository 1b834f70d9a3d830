"""An operation's fields change under its own lock: concurrent writers lose nothing."""

from __future__ import annotations

import threading

from GangaMonitoring.core.work import Kind, Operation, OpKey, PriorityClass

WAIT = 20.0


class PausingCount(int):
    """An int whose first addition, in the thread that owns it, pauses mid read-modify-write."""

    def __new__(cls, value: int, owner: threading.Thread, read: threading.Event, resume: threading.Event
                ) -> PausingCount:
        made = super().__new__(cls, value)
        made.owner, made.read, made.resume = owner, read, resume  # type: ignore[attr-defined]
        return made

    def __add__(self, other: object) -> int:
        if threading.current_thread() is self.owner:  # type: ignore[attr-defined]
            self.read.set()  # type: ignore[attr-defined]
            assert self.resume.wait(WAIT)  # type: ignore[attr-defined]
        return int(self) + int(other)  # type: ignore[call-overload]


def test_two_threads_counting_units_at_once_lose_no_update() -> None:
    op = Operation(key=OpKey("update"), kind=Kind.POLL, backend="B", priority=PriorityClass.POLL, due=0.0)
    read, resume = threading.Event(), threading.Event()
    first = threading.Thread(target=op.add_units, args=(1,))
    op.units = PausingCount(0, first, read, resume)
    first.start()
    assert read.wait(WAIT)  # the first writer has read 0 and is paused before it writes
    second = threading.Thread(target=op.add_units, args=(1,))
    second.start()
    second.join(0.2)  # a bounded look: unlocked, the second writer finishes here (and writes 1)
    resume.set()
    first.join(WAIT)
    second.join(WAIT)
    assert op.units == 2  # unlocked: the first writer's stale 0 + 1 overwrote the second's 1


def test_every_assignment_takes_the_operations_lock() -> None:
    op = Operation(key=OpKey("poll"), kind=Kind.POLL, backend="B", priority=PriorityClass.POLL, due=0.0)
    wrote = threading.Event()

    def write() -> None:
        op.job_ids = {1, 2}
        wrote.set()

    with op.locked():
        writer = threading.Thread(target=write)
        writer.start()
        assert not wrote.wait(0.2)  # a bounded look: it waits for the lock held here
    assert wrote.wait(WAIT)
    writer.join(WAIT)
    assert op.job_ids == {1, 2}
