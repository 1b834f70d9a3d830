"""Item 24: a job is loaded from disk once, however many threads ask for it at once.

What: ``Registry._load`` asks whether the object is loaded again once it holds
the two registry locks Ganga's ``_locked_load`` takes (its flush lock, then its
read lock: re-entrant, so Ganga's own call under them takes them again), and
loads nothing if another thread loaded it meanwhile.

Why: Ganga asks once, before the locks: two threads reading a job not yet
loaded (the prompt's ``jobs(5).subjobs`` and a monitoring worker at the start
of a session) both find it unloaded, the second waits for the first's load
and then loads it again, over the object the first one already handed out.
The second load sets each attribute again from the file, the subjobs first to
the class default (an empty list) and then to a new ``SubJobXMLList``: a reader
meanwhile sees a split job without subjobs (``tests/ganga/test_rollup.py``
caught one), and the subjobs the first list had loaded, with every change made
to them since, are dropped from the job without being saved.

Contract: a load Ganga would make of an object not loaded is made (under the
same locks, by Ganga's code); one of an object loaded while the caller waited
for the locks is not.  ``IncompleteObject.reload`` (an object that failed to
load is never marked loaded) still loads.  :func:`loads_once` installs it when
the component starts.

Undone by: remove() restores Ganga's ``Registry._load`` (the ledger).
"""

from __future__ import annotations

import functools
from typing import Any

from .ledger import _lock, _wrap


def loads_once() -> None:
    """Install item 24 (idempotent; undone by remove)."""
    from GangaCore.Core.GangaRepository.Registry import Registry

    with _lock:
        _wrap(Registry, "_load", _asking_again_under_the_locks)


def _asking_again_under_the_locks(load: Any) -> Any:
    @functools.wraps(load)
    def _load(self: Any, obj: Any) -> Any:
        if self.repository.isObjectLoaded(obj):
            return None
        with self._flush_lock, self._read_lock:  # _locked_load's locks, in its order
            if self.repository.isObjectLoaded(obj):
                return None  # another thread loaded it while this one waited
            return load(self, obj)

    _load.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return _load
