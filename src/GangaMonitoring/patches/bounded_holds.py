"""Item 13: the registry flusher holds a master's lock in bounded stretches, and loses no change.

What: ``Registry.flush_all`` runs within ``HELD_LOCK.bounded()``, and
``Node._setDirty`` of a subjob notes it while a bounded flush may have let
its master's lock go.  Before each subjob save (``safe_save``, item 11's
wrapper), a lock held longer than ``HELD_LOCK.budget`` (5 ms) and held by the
flush alone is let go for a moment and taken back; subjobs changed meanwhile
are saved again (:func:`_saving_noted`) before the subjob index is written
(``write_subJobIndex``, item 11's wrapper).

Why: Ganga's flusher held a master's lock for the whole flush of the master,
and every writer of the master or of a subjob takes that lock: a monitoring
worker's ``updateStatus`` or the user's ``j.kill()`` waited for all of it
(seconds at thousands of changed subjobs).

Contract: the flush ends with every subjob saved as it is, under the lock
(``repository/flush.py``, ``HeldLock``); from the saving of the noted subjobs to
the flush's end the lock is not let go.  Acts only through item 11's
wrappers: :func:`bounded_lock_holds` needs :func:`flush_costs_what_changed`
installed too (the component starts both).

Undone by: remove() restores ``flush_all`` and ``_setDirty`` (the ledger).
"""

from __future__ import annotations

import functools
from typing import Any

from ..repository.flush import hold_count
from .ledger import _lock, _wrap
from .shared import HELD_LOCK


def bounded_lock_holds() -> None:
    """Install item 13 (idempotent; undone by remove).  Needs item 11's wrappers of ``safe_save``
    and ``write_subJobIndex`` (installed by :func:`flush_costs_what_changed`) to act."""
    from GangaCore.Core.GangaRepository.Registry import Registry
    from GangaCore.GPIDev.Base.Objects import Node
    from GangaCore.GPIDev.Lib.Job.Job import Job

    with _lock:
        _wrap(Registry, "flush_all", _bounding_holds)
        _wrap(Node, "_setDirty", functools.partial(_noting_changes, Job))


def before_subjob_save(subjob: Any) -> None:
    """A subjob is about to be saved (``safe_save``: item 11's wrapper calls this): in a bounded flush, its
    master's lock is let go for a moment if held ``HELD_LOCK.budget``, and the subjob is saved as it is now."""
    if HELD_LOCK.active or HELD_LOCK.noting:
        root = subjob._getRoot()
        HELD_LOCK.yield_to_writers(root, root._lock, _held_once)
        HELD_LOCK.saving(root, subjob)


def _held_once(lock: Any) -> bool:
    """This thread holds ``lock`` once, the flush's own hold: read from the lock (Ganga's flusher does not say)."""
    return hold_count(lock) == 1


def bounded(_registry: Any) -> Any:
    """The context a flush of every job of a registry runs within: its holds of a job's lock are bounded."""
    return HELD_LOCK.bounded()


def _saving_noted(subjobs: Any) -> None:
    """Save again the subjobs changed while a bounded flush let their master's lock go (item 13)."""
    master = subjobs._getParent()
    if master is None:
        return
    import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml
    from GangaCore.Core.GangaRepository.VStreamer import to_file

    with HELD_LOCK.held():  # from here to the flush's end the lock is held: nothing more to note
        for subjob in HELD_LOCK.take_noted(master):
            if subjob._dirty and subjob._getParent() is not None:
                data_file = subjobs._SubJobXMLList__get_dataFile(str(subjob.id))
                repository_xml.safe_save(data_file, subjob, to_file)
                subjob._setFlushed()


def _bounding_holds(flush_all: Any) -> Any:
    @functools.wraps(flush_all)
    def bounded_flush_all(self: Any, *args: Any, **kwargs: Any) -> Any:
        with bounded(self):
            return flush_all(self, *args, **kwargs)

    bounded_flush_all.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return bounded_flush_all


def _noting_changes(job_class: Any, set_dirty: Any) -> Any:
    @functools.wraps(set_dirty)
    def _setDirty(self: Any) -> None:  # noqa: N802 - Ganga's name
        set_dirty(self)
        if HELD_LOCK.noting and isinstance(self, job_class) and self._getParent() is not None:
            HELD_LOCK.note(self._getRoot(), self)

    _setDirty.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return _setDirty
