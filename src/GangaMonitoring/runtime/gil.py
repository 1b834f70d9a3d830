"""What the user typed keeps the GIL while it computes: a longer switch interval for its duration, and
monitoring's workers start nothing new meanwhile (:class:`PromptTurn`).

CPython makes a thread that holds the GIL let it go every switch interval
(5 ms by default) when another thread asks for it.  A job table is tens of
milliseconds of pure Python; with twenty monitoring threads asking for the
GIL, each 5 ms slice of the table was followed by a wait for the others',
so a table cost several times its own CPU time (and a different multiple each
time).  Within :meth:`SwitchInterval.longer` the interval is ``seconds``:
the table runs through, the others wait at most that long for it (a thread
blocked on I/O or a lock lets the GIL go at once, as always), and the work
done is the same.

Contract: the interval is process-wide; nested or concurrent holders share
one change, and the interval found before the first is put back when the
last leaves (unless someone else changed it meanwhile: theirs is kept).
Thread-safe.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

from ..core.clock import Clock


class SwitchInterval:
    """A reference-counted longer ``sys.setswitchinterval`` (see the module's docstring)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._holders = 0
        self._before = 0.0
        self._ours = 0.0
        self.entered = 0
        """How many times :meth:`longer` was entered (all threads)."""

    @contextlib.contextmanager
    def longer(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._before = sys.getswitchinterval()
                if self.seconds > self._before:
                    sys.setswitchinterval(self.seconds)
                self._ours = sys.getswitchinterval()  # as CPython stores it
            self._holders += 1
            self.entered += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0 and sys.getswitchinterval() == self._ours:
                    sys.setswitchinterval(self._before)


class PromptTurn:
    """While the prompt computes what the user typed, monitoring's workers start nothing new.

    The prompt's thread enters :meth:`typed` around a table or a print; a worker calls :meth:`wait`
    before it starts an operation (and the dispatcher before it plans), and blocks while a turn is on,
    so what the user typed shares the GIL only with operations that were already running.

    Contract: :meth:`wait` returns at once when no turn is on (one attribute read); otherwise when the
    last turn ends or ``longest`` seconds (on ``clock``) after the turn began, whichever is first, so a
    prompt that draws tables back to back holds monitoring at most ``longest`` per turn.  Turns nest and
    overlap (one count; the turn began when the count left zero).  A waiting thread holds no lock of
    ours and lets the GIL go.  Thread-safe.
    """

    def __init__(self, clock: Clock, longest: float) -> None:
        self.clock = clock
        self.longest = longest
        self._cond = threading.Condition()
        self._typing = 0
        self._began = 0.0
        self.on = False
        """A turn is on (read without the lock by :meth:`wait`'s fast path)."""
        self.turns = 0
        """Turns begun."""
        self.waiting = 0
        """Threads waiting now."""
        self.held = 0
        """Waits that found a turn on."""
        self.held_seconds = 0.0
        """Their time in all, on ``clock``."""
        self.cut_short = 0
        """Waits that ended at ``longest``, the turn still on."""

    @contextlib.contextmanager
    def typed(self) -> Iterator[None]:
        with self._cond:
            if self._typing == 0:
                self._began = self.clock.now()
                self.turns += 1
                self.on = True
            self._typing += 1
        try:
            yield
        finally:
            with self._cond:
                self._typing -= 1
                if self._typing == 0:
                    self.on = False
                    self._cond.notify_all()

    def wait(self, poll: float = 0.05) -> float:
        """Block while a turn is on, at most until ``longest`` after it began; returns the time waited.

        ``poll``: the longest real sleep between two reads of ``clock`` (a fake clock moved by a test
        is seen within it)."""
        if not self.on:
            return 0.0
        with self._cond:
            if not self.on:
                return 0.0
            start = self.clock.now()
            deadline = self._began + self.longest
            self.waiting += 1
            while self.on and self.clock.now() < deadline:
                self._cond.wait(min(poll, self.clock.time_until(deadline) or 0.0))
            self.waiting -= 1
            waited = self.clock.now() - start
            self.held += 1
            self.held_seconds += waited
            self.cut_short += self.on
            return waited

    def __repr__(self) -> str:
        return (f"PromptTurn(on={self.on}, longest={self.longest}s, turns={self.turns}, waiting={self.waiting}, "
                f"held={self.held}, "
                f"held_seconds={self.held_seconds:.3f}, cut_short={self.cut_short})")
