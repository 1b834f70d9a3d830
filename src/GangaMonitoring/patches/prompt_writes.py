"""Item 22: a write typed at the prompt is handed its job's lock at the flusher's next subjob save.

What: ``ProxyDataDescriptor.__set__`` (an attribute write through the GPI: what
a user or a script types, ``j.comment = ...``), in the main thread while a
bounded flush runs (item 13), takes the root object's lock through
``HELD_LOCK.prompt_first`` before Ganga's write takes it again:
the flush holding that lock lets it go at its next subjob save and waits
until the write has it.

Why: the flusher lets a master's lock go for 0.2 ms once it held it 5 ms
(item 13); on a loaded machine the prompt's thread gets no core within that
moment and finds the lock taken again, save after save: ``j.comment = ...`` on a
master waited 21-34 ms for the flusher's ``safe_save`` of its subjobs
(10,000 subjobs, compatibility path, burst; ``benchmarks/prompt_tables.py``'s
stall report named the holder).

Contract: the write is Ganga's, under the same lock; only when it gets the
lock changes (within one subjob save of the request, or at most
``HELD_LOCK.handoff`` later, whoever else waits).  Other threads' writes,
the main thread's outside a bounded flush, and Ganga's own writes of its
objects (not through the GPI), are Ganga's own.
:func:`writes_handed_the_lock` installs it when the component starts.

Undone by: remove() restores Ganga's ``ProxyDataDescriptor.__set__`` (the ledger).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from .ledger import _lock, _wrap
from .shared import HELD_LOCK


def writes_handed_the_lock() -> None:
    """Install item 22 (idempotent; undone by remove)."""
    from GangaCore.GPIDev.Base.Proxy import ProxyDataDescriptor

    with _lock:
        _wrap(ProxyDataDescriptor, "__set__", _handed_the_lock)


def _handed_the_lock(gpi_set: Any) -> Any:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    main = threading.main_thread()

    @functools.wraps(gpi_set)
    def __set__(self: Any, obj: Any, value: Any) -> None:  # noqa: N807 - Ganga's name
        if obj is None or not HELD_LOCK.flushing or threading.current_thread() is not main:
            return gpi_set(self, obj, value)  # type: ignore[no-any-return]
        root = stripProxy(obj)._getRoot()
        with HELD_LOCK.prompt_first(root, root._lock):
            return gpi_set(self, obj, value)  # type: ignore[no-any-return]

    __set__.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return __set__
