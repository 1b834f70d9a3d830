"""What the user typed keeps the GIL while it computes: a longer switch interval for its duration.

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
