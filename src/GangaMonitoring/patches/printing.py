"""Item 21: printing a job (``print(j)``, ``j`` at the prompt) takes no lock of the job.

What: ``GangaObject.accept`` with a printing visitor (Ganga's ``VPrinter``
and its ``VSummaryPrinter``) runs Ganga's own ``accept`` without the
``synchronised`` decorator's lock; any other visitor (the XML streamer that
saves a job) keeps it.

Why: ``accept`` holds the job's root lock (a subjob's: its master's) for the
whole visit, so ``print(j)`` of a master, which prints its subjob table,
first waited for the lock the registry flusher and monitoring's writers hold,
then held it for the whole print while they waited.

Contract: a printed value is one a writer stored whole (item 8's reads: a
loaded value read without a lock, anything else the locked path), as fresh
as the last write; the text is Ganga's.  While it prints it keeps the GIL up to 50 ms at a time, and
monitoring starts no new operation, as item 20's tables do.  A print does not see one write's
changes of several attributes together, as a flush does.
:func:`prints_without_lock` installs it when the component starts.

Undone by: remove() restores Ganga's ``accept`` (the ledger).
"""

from __future__ import annotations

import functools
from typing import Any

from .ledger import _lock, _wrap
from .shared import PROMPT_FIRST, PROMPT_TURN


def prints_without_lock() -> None:
    """Install item 21 (idempotent; undone by remove)."""
    from GangaCore.GPIDev.Base.Objects import GangaObject

    with _lock:
        _wrap(GangaObject, "accept", _printing_unlocked)


def _printing_unlocked(accept: Any) -> Any:
    from GangaCore.GPIDev.Base.VPrinter import VPrinter

    unlocked = getattr(accept, "__wrapped__", accept)  # Ganga's accept inside its ``synchronised``

    @functools.wraps(accept)
    def printed_or_locked(self: Any, visitor: Any) -> Any:
        if isinstance(visitor, VPrinter):
            with PROMPT_FIRST.longer(), PROMPT_TURN.typed():
                return unlocked(self, visitor)
        return accept(self, visitor)

    printed_or_locked.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return printed_or_locked
