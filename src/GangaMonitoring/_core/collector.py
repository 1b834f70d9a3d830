"""The garbage collector stays out of what the user typed: held off while it runs, cheap when it runs.

A collection holds the GIL from start to end, so every thread waits for it,
the prompt's too.  With thousands of subjobs in memory a full (generation 2)
collection walks millions of objects: about 0.3 s at 3,000 subjobs, 0.9 s at
10,000.  Two tools, each with one contract:

- :class:`CollectorOff`: while anyone holds it, CPython does not start a
  collection; a collection that came due meanwhile (its allocation count
  passed the threshold) starts at the first allocation after the last holder
  left.  Nothing is collected twice or lost: the counts CPython keeps go on
  growing while the collector is off.  One process-wide instance,
  :data:`COLLECTOR_OFF`, serves every holder (a table being drawn, Ganga's
  stack tracer reading frames), so one holder switching the collector back
  on cannot fall inside another's hold.
- :class:`FreezeSurvivors`: after each full collection, what survived it is
  moved to CPython's permanent generation (``gc.freeze()``), so the next
  full collection walks only what was made since.  Objects frozen are
  still freed by their reference counts; what a freeze keeps is cyclic
  garbage made of frozen objects (a cycle of jobs removed from the session),
  until :meth:`FreezeSurvivors.stop` gives every frozen object back to the
  collector.  Memory is bounded by what had survived a full collection while
  it ran, not by time.

Both are thread-safe.  Neither calls ``gc.collect()``.  Code outside this
module that switches the collector on or off by itself (``gc.enable()``)
is not seen: its change stands.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from contextlib import AbstractContextManager
from typing import Any

from .shared_hold import SharedHold


class CollectorOff(SharedHold):
    """A reference-counted ``gc.disable()`` (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._was_enabled = False

    def held(self) -> AbstractContextManager[None]:
        """No collection starts while this is held (by this thread or any); one due starts right after."""
        return self._held()

    def _first(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()

    def _last(self) -> None:
        if self._was_enabled:
            gc.enable()


COLLECTOR_OFF = CollectorOff()
"""The process's one :class:`CollectorOff`: every holder must use it (the collector is process-wide)."""


class FreezeSurvivors:
    """Between :meth:`start` and :meth:`stop`, each full collection's survivors are frozen (see the module's
    docstring); :meth:`stop` unfreezes everything this instance froze and everything frozen since."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = False
        self.freezes = 0
        """How many full collections' survivors were frozen."""

    def start(self) -> None:
        """Idempotent."""
        with self._lock:
            if not self._started:
                gc.callbacks.append(self._after_collection)
                self._started = True

    def stop(self) -> None:
        """Idempotent; the frozen objects go back to the oldest generation (the next full collection walks
        them again)."""
        with self._lock:
            if not self._started:
                return
            with contextlib.suppress(ValueError):
                gc.callbacks.remove(self._after_collection)
            self._started = False
            if self.freezes:
                gc.unfreeze()

    def _after_collection(self, phase: str, info: dict[str, Any]) -> None:
        # runs in the thread that collected, inside the collection: no lock of ours is taken here (a
        # thread holding self._lock may be the one allocating); gc.freeze() only moves lists
        if phase == "stop" and info.get("generation") == 2 and self._started:
            gc.freeze()
            self.freezes += 1


SURVIVORS_FROZEN = FreezeSurvivors()
"""The process's one :class:`FreezeSurvivors` (the component starts it and stops it)."""
