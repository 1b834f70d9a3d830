"""A process-wide setting changed while anyone holds it: the first holder in changes it, the last out puts it back.

Some settings belong to the whole interpreter (the GIL's switch interval,
whether the garbage collector runs): two threads that each change one and
put back what they found would undo each other's change, or put back the
other's.  :class:`SharedHold` counts its holders instead: :meth:`SharedHold._first`
runs when the count goes from 0 to 1, :meth:`SharedHold._last` when it goes back to 0,
both under the hold's lock, so no holder's change falls inside another's hold.

Contract: thread-safe; re-entrant (a holder may hold again); subclasses
change the setting only in those two methods.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class SharedHold:
    """A reference-counted change of a process-wide setting (see the module's docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self.entered = 0
        """How many times the hold was entered (all threads)."""

    @contextlib.contextmanager
    def _held(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._first()
            self._holders += 1
            self.entered += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    self._last()

    def _first(self) -> None:
        """Change the setting (the first holder came in; the lock is held)."""
        raise NotImplementedError

    def _last(self) -> None:
        """Put the setting back (the last holder left; the lock is held)."""
        raise NotImplementedError
