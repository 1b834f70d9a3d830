"""Time as an interface.

The scheduler, planner and retry code never read the time themselves: they
are handed a :class:`Clock`.  Production uses :class:`SystemClock`; tests use
:class:`FakeClock` and assert exact virtual times, with no sleeps.

``SystemClock`` adds a large random offset to ``time.monotonic()`` so that
code which mixes its readings with a stray ``time.monotonic()`` or
``time.time()`` gives obviously wrong answers at once instead of subtly
wrong ones (an idea taken from trio's clock).
"""

from __future__ import annotations

import random
import threading
import time
from typing import Protocol


class Clock(Protocol):
    """What the scheduler needs to know about time."""

    def now(self) -> float:
        """Seconds on this clock's own scale (only differences mean anything)."""
        ...

    def time_until(self, deadline: float | None) -> float | None:
        """Seconds to wait for ``deadline`` (never negative); None waits forever."""
        ...


class SystemClock:
    """Monotonic wall time with a random offset, so stray time.* calls show up."""

    def __init__(self, offset: float | None = None) -> None:
        self._offset = random.uniform(10_000, 200_000) if offset is None else offset

    def now(self) -> float:
        return time.monotonic() + self._offset

    def time_until(self, deadline: float | None) -> float | None:
        if deadline is None:
            return None
        return max(0.0, deadline - self.now())

    def __repr__(self) -> str:
        return f"SystemClock(now={self.now():.3f})"


class FakeClock:
    """A clock that only moves when told to.

    ``jump(seconds)`` moves it forward; ``advance_to(t)`` moves it to an
    absolute time.  A threaded runner on a fake clock is woken by its own
    ``wake()`` after a jump (see ``runner.SchedulerRunner``).
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def time_until(self, deadline: float | None) -> float | None:
        if deadline is None:
            return None
        return max(0.0, deadline - self._now)

    def jump(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"a clock never goes back (asked to jump {seconds})")
        return self.advance_to(self._now + seconds)

    def advance_to(self, when: float) -> float:
        with self._lock:
            if when < self._now:
                raise ValueError(f"a clock never goes back ({when} < {self._now})")
            self._now = float(when)
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now:.3f})"
