"""Item 18: the patches come off after Ganga's last flush, not before.

What: ``GangaCore.Runtime.Repository_runtime.shutdown`` (the last step of Ganga's
exit functions that writes jobs: it flushes and closes every repository) is
wrapped: after it returns, or raises, the package's ``remove()`` runs.

Why: Ganga's exit functions stop monitoring first and shut the repositories
down after; the persistence patches (items 8, 11, 13, 14, 16, 17) and the status
watch must serve that last flush.  Ganga registers its exit functions with
``atexit`` when its bootstrap module is imported, before any runtime package is,
and ``atexit`` runs newest first: a package hook registered at import would run
*before* Ganga's exit functions, so neither the component's ``stop()`` (called by
them before the flush) nor such a hook may undo the patches while Ganga's exit
functions are still to run.

Contract: while this wrapper is in the ledger, Ganga's exit functions have not
shut the repositories down since the patches were applied; :func:`left_to_ganga`
says so to the package's ``atexit`` hook, which then leaves the removal to them.

Undone by: ``remove()`` (which this wrapper calls) takes it off with the rest.
"""

from __future__ import annotations

import sys
from typing import Any
from collections.abc import Callable

from .ledger import _is_wrapped, _lock, _wrap

NAME = "shutdown"


def unpatch_after_last_flush(remove: Callable[[], None]) -> None:
    """Install item 18 (idempotent; undone by remove)."""
    from GangaCore.Runtime import Repository_runtime

    def make(stock: Callable[..., Any]) -> Callable[..., Any]:
        def shutdown(*args: Any, **kwargs: Any) -> Any:
            try:
                return stock(*args, **kwargs)
            finally:
                remove()

        shutdown.__gm_wrapped__ = True  # type: ignore[attr-defined]
        shutdown.__doc__ = stock.__doc__
        return shutdown

    with _lock:
        _wrap(Repository_runtime, NAME, make)


def left_to_ganga() -> bool:
    """Will Ganga's exit functions still flush and then remove the patches (item 18 installed, not yet run)?"""
    module = sys.modules.get("GangaCore.Runtime.Repository_runtime")
    manager = sys.modules.get("GangaCore.Core.InternalServices.ShutdownManager")
    if module is None or manager is None or not getattr(manager.register_exitfunc, "_has_registered", False):
        return False
    with _lock:
        return _is_wrapped(module, NAME)
