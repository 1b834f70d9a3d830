"""Item 16: a flush of a split master does the master's own O(N) work once, not at each step.

What:

- ``GangaRepositoryLocal.flush`` runs within ``ROOT_ENTRIES.flushing()``: a
  top-level job's index entry is computed once per flush (``flush.
  RootEntries``, answered through item 11's ``getIndexCache`` wrapper; a
  yield of item 13's bounded hold starts afresh);
- while ``_safe_flush_xml`` flushes a master made in this session,
  ``SubJobXMLList.load_subJobIndex`` leaves the list's index empty;
- ``SubJobXMLList.__len__`` of a master loaded from disk is kept once found
  (:data:`SUBJOB_COUNTS`), forgotten by ``appendJobs``.

Why: Ganga's flush of a job computed its index entry three times, each
walking every subjob's status.  For a master made in this session, Ganga
builds a temporary ``SubJobXMLList`` that read and unpickled the old
``subjobs.idx`` it never uses (it writes every entry from the subjobs in
memory).  And Ganga counted a loaded
master's numbered directories anew (a ``stat`` each) whenever the job
directory's ctime had moved, which every flush makes it do, while its flush
asks for the count once per directory entry.

Contract: files are stock's.  A kept count equals Ganga's fresh count of
the subjob directories: they are added only through ``appendJobs`` (which
forgets the count, before and after) or by saving a master whose subjobs are
a new container (a split, a load: nothing kept for it); a master loaded again
(a new session, or the registry re-reading a job another session changed)
gets a new ``SubJobXMLList``, counted afresh; a job removed has no directory,
and the count is 0 (one ``isdir`` per call, where Ganga made one ``stat``).
A count of 0 is never kept.  A subjob directory deleted behind Ganga's back
is not seen (stock's ctime check would see it; Ganga's index would be wrong
then anyway).
:func:`master_work_once` installs it when the component starts.

Undone by: remove() restores the five methods (the ledger).  The kept
counts are emptied at the next install, not at remove.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from ..core.weak import PerObject
from .ledger import _lock, _wrap
from .shared import INDEX_WRITING, ROOT_ENTRIES

SUBJOB_COUNTS: PerObject[int] = PerObject()
"""The subjob counts of masters loaded from disk (item 16)."""


def master_work_once() -> None:
    """Install item 16 (idempotent; undone by remove).  Acts through item 11's ``getIndexCache``
    wrapper."""
    from GangaCore.Core.GangaRepository.GangaRepositoryXML import GangaRepositoryLocal
    from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList

    with _lock:
        if not getattr(vars(GangaRepositoryLocal)["flush"], "__gm_wrapped__", False):
            SUBJOB_COUNTS.clear()
        _wrap(GangaRepositoryLocal, "flush", _entries_once)
        _wrap(GangaRepositoryLocal, "_safe_flush_xml", _noting_unread_index)
        _wrap(SubJobXMLList, "load_subJobIndex", _reading_index_when_used)
        _wrap(SubJobXMLList, "__len__", _counting_once)
        _wrap(SubJobXMLList, "appendJobs", _forgetting_count)


def _entries_once(repository_flush: Any) -> Any:
    @functools.wraps(repository_flush)
    def flush(self: Any, *args: Any, **kwargs: Any) -> Any:
        with ROOT_ENTRIES.flushing():
            return repository_flush(self, *args, **kwargs)

    flush.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return flush


def _noting_unread_index(safe_flush_xml: Any) -> Any:
    @functools.wraps(safe_flush_xml)
    def _safe_flush_xml(self: Any, this_id: Any) -> Any:
        obj = self.objects.get(this_id)
        subjobs = getattr(obj, self.sub_split, None) if obj is not None else None
        outer = INDEX_WRITING.unread_index
        # a master made in this session keeps its subjobs in a list without ``flush``: Ganga then
        # writes its index through a temporary SubJobXMLList, from the subjobs in memory only
        INDEX_WRITING.unread_index = bool(subjobs) and not hasattr(subjobs, "flush")
        try:
            return safe_flush_xml(self, this_id)
        finally:
            INDEX_WRITING.unread_index = outer

    _safe_flush_xml.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return _safe_flush_xml


def _reading_index_when_used(load: Any) -> Any:
    @functools.wraps(load)
    def load_subJobIndex(self: Any) -> Any:  # noqa: N802 - Ganga's name
        if INDEX_WRITING.unread_index:
            self._subjobIndexData = {}
            return None
        return load(self)

    load_subJobIndex.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return load_subJobIndex


def _counting_once(count: Any) -> Any:
    @functools.wraps(count)
    def __len__(self: Any) -> int:  # noqa: N807 - the method it stands in for
        if not os.path.isdir(self._jobDirectory):  # removed: 0, as Ganga's count answers (nothing kept)
            SUBJOB_COUNTS.forget(self)
            return 0
        found = SUBJOB_COUNTS.get(self)
        if found is None:
            found = count(self)
            if found:
                SUBJOB_COUNTS.put(self, found)
        return found

    __len__.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return __len__


def _forgetting_count(append_jobs: Any) -> Any:
    @functools.wraps(append_jobs)
    def appendJobs(self: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - Ganga's name
        SUBJOB_COUNTS.forget(self)
        try:
            return append_jobs(self, *args, **kwargs)
        finally:
            SUBJOB_COUNTS.forget(self)

    appendJobs.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return appendJobs
