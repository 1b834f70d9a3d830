"""Item 6: ``sys._current_frames`` runs with the garbage collector off (CPython before 3.12).

What: ``sys._current_frames`` (not Ganga's, but called by Ganga's stack
tracer, a thread every Ganga session starts, every 5 s) is wrapped so that
it runs with the collector off, one caller at a time.

Why: on CPython before 3.12, a collection that starts inside that call can
deadlock the whole process (CPython gh-106883: the call holds the
interpreter's thread-list lock, and a finalizer run by the collection may
need it, or let a thread that needs it take the GIL).  Seen twice in a
5,000-job benchmark: every thread waiting for the GIL, Ganga's tracer
inside ``gc_collect_main`` under ``_PyThread_CurrentFrames``, the session
frozen for good.  CPython 3.12 fixed it the same way.

Contract: the frames returned are the call's own; the collector is switched
back on only if it was on, and callers are serialised so that one caller
switching it back on cannot fall inside another's call.  Nothing is
installed on 3.12 and later.

Undone by: its own entry of the ledger: it is also installed under
``use_stock_monitoring`` (the freeze is nobody's monitoring), so
:func:`unguard_current_frames` undoes it alone; remove() calls that first.
"""

from __future__ import annotations

import functools
import gc
import sys
import threading
from typing import Any

from .ledger import _lock, _unwrap, _wrap

_frames_lock = threading.Lock()


def guard_current_frames() -> None:
    """Make ``sys._current_frames`` run with the garbage collector off (idempotent; see item 6).

    Its own entry of the ledger: it is also installed under stock monitoring, and undone alone."""
    if sys.version_info >= (3, 12):
        return
    with _lock:
        _wrap(sys, "_current_frames", _without_gc)


def _without_gc(original: Any) -> Any:
    @functools.wraps(original)
    def current_frames_without_gc() -> dict[int, Any]:
        # one caller at a time, so that one caller switching the collector
        # back on cannot fall inside another's call
        with _frames_lock:
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                return original()
            finally:
                if was_enabled:
                    gc.enable()

    current_frames_without_gc.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return current_frames_without_gc


def unguard_current_frames() -> None:
    with _lock:
        _unwrap(sys, "_current_frames")
