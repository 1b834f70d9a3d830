"""Draining running work before a stop, on a fake clock: bounded, said while it waits, Ctrl-C ends it."""

from __future__ import annotations

from GangaMonitoring.core.clock import FakeClock
from GangaMonitoring.core.draining import describe, drain
from GangaMonitoring.core.work import Kind, Operation, OpKey, PriorityClass


def op(n: int) -> Operation:
    return Operation(OpKey.retrieve(f"3.{n}"), Kind.RETRIEVE, "SimGrid", PriorityClass.FINALISE, 0.0,
                     description=f"retrieve output of job 3.{n}")


class Work:
    """Running operations that end at given virtual times; ``wait`` advances the fake clock."""

    def __init__(self, clock: FakeClock, ends: dict[int, float]) -> None:
        self.clock, self.ends = clock, ends
        self.waits: list[float] = []

    def running(self) -> list[Operation]:
        return [op(n) for n, end in sorted(self.ends.items()) if end > self.clock.now()]

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        later = [end for end in self.ends.values() if end > self.clock.now()]
        self.clock.advance_to(min([self.clock.now() + seconds, *later]))


def test_nothing_running_is_silent_and_does_not_wait() -> None:
    clock = FakeClock()
    said: list[str] = []
    work = Work(clock, {})
    assert drain(work.running, work.wait, clock.now, said.append, timeout=30) == []
    assert said == [] and work.waits == []


def test_work_that_ends_in_time_is_waited_for_with_a_countdown() -> None:
    clock = FakeClock()
    start = clock.now()
    said: list[str] = []
    work = Work(clock, {1: start + 2.5, 2: start + 12.0})
    assert drain(work.running, work.wait, clock.now, said.append, timeout=30, every=5) == []
    assert clock.now() == start + 12.0
    assert said[0] == ("waiting for 2 monitoring operation(s) to end before Ganga stops (retrieve output of job "
                       "3.1, retrieve output of job 3.2): 30 s at most; Ctrl-C leaves them to the next session")
    # one line at most every 5 s while it waits, then the end
    assert [line.split(" (")[0] for line in said] == ["waiting for 2 monitoring operation(s) to end before Ganga stops",
                                                      "waiting for 1 monitoring operation(s) to end before Ganga stops",
                                                      "waiting for 1 monitoring operation(s) to end before Ganga stops",
                                                      "monitoring work ended; Ganga goes on stopping"]
    import re
    left = [float(re.search(r": (\d+) s at most", line).group(1)) for line in said[:3]]  # type: ignore[union-attr]
    assert left[0] == 30 and all(earlier - later >= 5 for earlier, later in zip(left, left[1:], strict=False))


def test_the_wait_is_bounded_and_what_is_left_is_returned() -> None:
    clock = FakeClock()
    start = clock.now()
    said: list[str] = []
    work = Work(clock, {1: start + 100.0})
    left = drain(work.running, work.wait, clock.now, said.append, timeout=3)
    assert [o.key for o in left] == [OpKey.retrieve("3.1")]
    assert clock.now() == start + 3
    assert said[-1] == ("1 monitoring operation(s) still running (retrieve output of job 3.1): left to the next "
                        "Ganga session")


def test_ctrl_c_ends_the_wait_and_says_what_is_left() -> None:
    clock = FakeClock()
    said: list[str] = []
    work = Work(clock, {1: clock.now() + 100.0})

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    left = drain(work.running, interrupted, clock.now, said.append, timeout=30)
    assert len(left) == 1
    assert said[-1] == "not waiting: 1 monitoring operation(s) left to the next Ganga session"


def test_describe_names_three_and_counts_the_rest() -> None:
    assert describe([op(n) for n in range(5)]) == ("retrieve output of job 3.0, retrieve output of job 3.1, "
                                                   "retrieve output of job 3.2 and 2 more")
