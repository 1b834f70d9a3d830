"""Item 11: a flush of a split job costs what changed, and its subjob index is written whole.

What (``repository/flush.py`` has the Ganga-free pieces):

- ``JobRegistry.getIndexCache`` of a subjob, while
  ``SubJobXMLList.write_subJobIndex`` runs, returns the entry it computed for
  that subjob before (:data:`INDEX_MEMO`) unless the subjob was saved since
  (``safe_save`` of ``GangaRepositoryXML`` forgets it first), and the
  ``stat`` of its data file likewise (:data:`STAT_MEMO`: the ctime Ganga
  stamps on each entry);
- ``SubJobXMLList.flush`` clears the dirty flags of the subjobs it saved;
- ``subjobs.idx`` is written under a temp name and renamed over the old one
  (``flush.AtomicFile``, through the ``open`` of Ganga's ``SubJobXMLList``
  module while ``write_subJobIndex`` runs).

Why: Ganga computed every entry of a master's index anew at each flush
(~0.3 ms each: 3 s of GIL at 10,000 subjobs, though monitoring changed a few
dozen); it never cleared the dirty flags of a master loaded from disk, so
each flush rewrote every subjob changed since the session began; and it
rewrote ``subjobs.idx`` in place, so a flush killed or failing inside that
write left a truncated index.

Contract: files written are the same as stock's.  A memo's entry is valid
because a changed subjob is dirty and Ganga saves every dirty subjob of a
master, under the master's lock, before it writes that master's index.

These wrappers also carry three other items: ``safe_save`` lets a master's
lock go between subjob saves (item 13) and writes with our XML writer (item
14); ``write_subJobIndex`` first saves again the subjobs changed meanwhile
(item 13); ``getIndexCache`` of a top-level job answers once per flush
(item 16).  :func:`flush_costs_what_changed` installs it when the component
starts.

Undone by: remove() restores the five methods and deletes the ``open`` given
to ``SubJobXMLList``'s module (the ledger).  The memos are emptied at the
next install, not at remove.
"""

from __future__ import annotations

import builtins
import functools
import os
import sys
from typing import Any

from ..repository import flush
from .bounded_holds import _saving_noted, before_subjob_save
from .ledger import _lock, _wrap
from .shared import FASTER_WRITERS, INDEX_WRITING, ROOT_ENTRIES

INDEX_MEMO = flush.IndexMemo()
"""Subjob index entries kept between flushes (item 11); its counters show what it saved."""
STAT_MEMO = flush.StatMemo()
"""Subjob data files' ``os.stat`` kept between flushes (item 11)."""

SUBJOB_INDEX = "subjobs.idx"
"""The name Ganga gives a master's index of its subjobs (``SubJobXMLList._subjob_master_index_name``)."""


def flush_costs_what_changed() -> None:
    """Install item 11 (idempotent; undone by remove)."""
    import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml
    from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList
    from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistry

    subjob_list_module = sys.modules[SubJobXMLList.__module__]
    with _lock:
        if not getattr(vars(JobRegistry)["getIndexCache"], "__gm_wrapped__", False):
            INDEX_MEMO.clear()  # entries of a session before, saved while nothing forgot them
            STAT_MEMO.clear()
        _wrap(repository_xml, "safe_save", _forgetting_saved)
        _wrap(subjob_list_module, "stat", _remembering_stats)
        _wrap(SubJobXMLList, "write_subJobIndex", _writing_index)
        _wrap(SubJobXMLList, "flush", _clearing_saved_flags)
        _wrap(JobRegistry, "getIndexCache", _remembering_entries)
        _wrap(subjob_list_module, "open", _index_written_whole, shadowed=builtins.open)


def _forgetting_saved(safe_save: Any) -> Any:
    @functools.wraps(safe_save)
    def save(fn: Any, _obj: Any, *args: Any, **kwargs: Any) -> Any:
        obj = getattr(_obj, "_impl", _obj)
        if obj._getParent() is not None:  # a subjob (item 13)
            before_subjob_save(obj)
        INDEX_MEMO.forget(obj)
        STAT_MEMO.forget(str(fn))
        if args and args[0] in FASTER_WRITERS:  # item 14: Ganga's XML writer, as the repository bound it
            args = (FASTER_WRITERS[args[0]], *args[1:])
        return safe_save(fn, _obj, *args, **kwargs)

    save.lock = safe_save.lock  # type: ignore[attr-defined]  # Ganga's callers use safe_save.lock
    save.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return save


def _remembering_stats(os_stat: Any) -> Any:
    @functools.wraps(os_stat)
    def stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        if INDEX_WRITING.active and isinstance(path, str) and not args and not kwargs:
            return STAT_MEMO.stat(path)
        return os_stat(path, *args, **kwargs)

    stat.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return stat


def _writing_index(write: Any) -> Any:
    @functools.wraps(write)
    def write_subJobIndex(self: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - Ganga's name
        _saving_noted(self)
        outer = INDEX_WRITING.active
        INDEX_WRITING.active = True
        try:
            return write(self, *args, **kwargs)
        finally:
            INDEX_WRITING.active = outer

    write_subJobIndex.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return write_subJobIndex


def _index_written_whole(builtin_open: Any) -> Any:
    """Ganga's ``SubJobXMLList`` opens ``subjobs.idx`` and rewrites it in place: a flush killed, or a
    pickling error, half-way left a truncated index.  Opened for writing within
    ``write_subJobIndex``, it is now an :class:`flush.AtomicFile`."""
    @functools.wraps(builtin_open)
    def open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:  # noqa: A001 - shadows it there
        if (INDEX_WRITING.active and mode == "wb" and not args and not kwargs and isinstance(file, str)
                and os.path.basename(file) == SUBJOB_INDEX):
            return flush.AtomicFile(file, mode)
        return builtin_open(file, mode, *args, **kwargs)

    open.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return open


def _remembering_entries(get_index_cache: Any) -> Any:
    @functools.wraps(get_index_cache)
    def getIndexCache(self: Any, obj: Any) -> Any:  # noqa: N802 - Ganga's name
        if not INDEX_WRITING.active:
            if ROOT_ENTRIES.active and obj._getParent() is None:  # item 16
                return ROOT_ENTRIES.entry(obj, functools.partial(get_index_cache, self))
            return get_index_cache(self, obj)
        entry = INDEX_MEMO.get(obj)
        if entry is None:
            entry = get_index_cache(self, obj)
            INDEX_MEMO.put(obj, entry)
        return entry

    getIndexCache.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return getIndexCache


def _clearing_saved_flags(flush_subjobs: Any) -> Any:
    @functools.wraps(flush_subjobs)
    def flush(self: Any, *args: Any, **kwargs: Any) -> Any:
        dirty = [subjob for subjob in list(self._cachedJobs.values()) if subjob._dirty]
        result = flush_subjobs(self, *args, **kwargs)
        for subjob in dirty:  # saved whole above, under the master's lock: nothing changed since
            subjob._setFlushed()
        return result

    flush.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return flush
