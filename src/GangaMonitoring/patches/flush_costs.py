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
  module while ``write_subJobIndex`` runs);
- ``write_subJobIndex`` writes nothing when the master's ``subjobs.idx`` on
  disk is the file it last wrote and none of its subjobs was saved since
  (:data:`INDEX_WRITES`, told of every subjob save by the ``safe_save``
  wrapper): a flush of a master whose own values alone changed rewrote the
  whole index (1,000 subjobs: 15 of the flush's 21 ms, under its lock);
- within a flush, a saved subjob's entry asked for its master's entry
  (Ganga's ``getAllCachedData`` computes a loaded subjob's whole entry to read
  its status) comes from the same memo: a master loaded from disk with its
  1,000 subjobs in memory spent 70 of a 90 ms flush there.

Why: Ganga computed every entry of a master's index anew at each flush
(~0.3 ms each: 3 s of GIL at 10,000 subjobs, though monitoring changed a few
dozen); it never cleared the dirty flags of a master loaded from disk, so
each flush rewrote every subjob changed since the session began; and it
rewrote ``subjobs.idx`` in place, so a flush killed or failing inside that
write left a truncated index.

Contract: files written are the same as stock's.  A memo's entry is valid
because a changed subjob is dirty and Ganga saves every dirty subjob of a
master, under the master's lock, before it writes that master's index (or
computes the master's entry); a dirty subjob's entry is never kept.  An index
is left as it is only if it is the very file last written (device, inode,
size, mtime and ctime) and no save of a subjob of that master was announced
after its entries began to be computed.

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
from .shared import FASTER_WRITERS, INDEX_WRITES, INDEX_WRITING, ROOT_ENTRIES

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
            INDEX_WRITES.clear()
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
        if obj._getParent() is not None:  # a subjob: its master's index is to be written again
            INDEX_WRITES.saved(obj._getRoot())
            before_subjob_save(obj)  # item 13
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
        master = self._getParent()
        index = os.path.join(self._jobDirectory, getattr(self, "_subjob_master_index_name", SUBJOB_INDEX))
        before = flush.file_key(index) if master is not None else None
        if master is not None and INDEX_WRITES.current(master, before):
            return None  # the file on disk is the one last written, and no subjob was saved since
        saves = INDEX_WRITES.saves(master) if master is not None else 0
        outer = INDEX_WRITING.active
        INDEX_WRITING.active = True
        try:
            return write(self, *args, **kwargs)
        finally:
            INDEX_WRITING.active = outer
            after = flush.file_key(index) if master is not None else None
            if after is not None and after != before:  # written (a failed write leaves the old file)
                INDEX_WRITES.wrote(master, saves, after)

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
            if not ROOT_ENTRIES.active:
                return get_index_cache(self, obj)
            if obj._getParent() is None:  # item 16
                return ROOT_ENTRIES.entry(obj, functools.partial(get_index_cache, self))
            if obj._dirty:  # not saved as it is: an entry of it would not stay valid
                return get_index_cache(self, obj)
            # a subjob's entry within a flush: its master's entry reads a loaded subjob's whole entry
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
