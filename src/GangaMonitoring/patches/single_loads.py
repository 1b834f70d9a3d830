"""Item 24: a job is loaded from disk once, however many threads ask for it at once, and never shows no subjobs.

What: ``Registry._load`` asks whether the object is loaded again once it holds
the two registry locks Ganga's ``_locked_load`` takes (its flush lock, then its
read lock: re-entrant, so Ganga's own call under them takes them again), and
loads nothing if another thread loaded it meanwhile.  And while
``GangaRepositoryLocal._parse_xml`` fills a job that has subjobs on disk, its
subjobs attribute is not set to the class default first
(``GangaObject.setSchemaAttribute`` of that one name on that job, by that
thread, of a value that is not a ``SubJobXMLList``, is skipped): it is set
once, to the ``SubJobXMLList`` Ganga makes for it.

Why: Ganga asks once, before the locks: two threads reading a job not yet
loaded (the prompt's ``jobs(5).subjobs`` and a monitoring worker at the start
of a session) both find it unloaded, the second waits for the first's load
and then loads it again, over the object the first one already handed out.
The second load sets each attribute again from the file, the subjobs first to
the class default (an empty list) and then to a new ``SubJobXMLList``: a reader
meanwhile sees a split job without subjobs (``tests/ganga/test_rollup.py``
caught one), and the subjobs the first list had loaded, with every change made
to them since, are dropped from the job without being saved.  Even a single
load set the default first: a reader between that and the list saw a split
job with no subjobs (a value in ``_data`` is read without any lock the loader
holds, in stock as with item 8).

Contract: a load Ganga would make of an object not loaded is made (under the
same locks, by Ganga's code); one of an object loaded while the caller waited
for the locks is not.  ``IncompleteObject.reload`` (an object that failed to
load is never marked loaded) still loads.  During a first load the job has no
subjobs attribute until its list is set: a reader loads it first, without the
job's lock (item 8), so it waits for that load, never for the job's lock the
loader needs.  A reload (of a job another session changed) keeps the list the
job had until Ganga's new one is set.  A job without subjobs on disk gets the
default as before.  A load that fails between the two leaves a first-loaded
job without the attribute: the next read loads again, or gets the repository's
error for an object it could not load.  :func:`loads_once` installs it when
the component starts.

Undone by: remove() restores Ganga's ``Registry._load``,
``GangaRepositoryLocal._parse_xml`` and ``GangaObject.setSchemaAttribute``
(the ledger).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from .ledger import _lock, _wrap


class _Filling(threading.local):
    """The job this thread's ``_parse_xml`` fills and the name of its subjobs attribute (``job`` None: none)."""

    job: Any = None
    name: str = ""


_FILLING = _Filling()


def loads_once() -> None:
    """Install item 24 (idempotent; undone by remove)."""
    import GangaCore.Core.GangaRepository.Registry as registry_module
    from GangaCore.Core.GangaRepository.GangaRepositoryXML import GangaRepositoryLocal
    from GangaCore.GPIDev.Base.Objects import GangaObject

    with _lock:
        _wrap(registry_module.Registry, "_load", _asking_again_under_the_locks)
        _wrap(GangaRepositoryLocal, "_parse_xml", _subjobs_set_once)
        _wrap(GangaObject, "setSchemaAttribute", _no_default_for_subjobs_on_disk)


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


def _subjobs_set_once(parse_xml: Any) -> Any:
    @functools.wraps(parse_xml)
    def _parse_xml(self: Any, fn: Any, this_id: Any, load_backup: Any, has_children: Any, tmpobj: Any) -> Any:
        if not has_children:
            return parse_xml(self, fn, this_id, load_backup, has_children, tmpobj)
        tmpobj._data.pop(self.sub_split, None)  # the default read for it: the file has no subjobs, they are apart
        outer = _FILLING.job, _FILLING.name
        _FILLING.job, _FILLING.name = self.objects.get(this_id, tmpobj), self.sub_split
        try:
            return parse_xml(self, fn, this_id, load_backup, has_children, tmpobj)
        finally:
            _FILLING.job, _FILLING.name = outer

    _parse_xml.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return _parse_xml


def _no_default_for_subjobs_on_disk(set_schema_attribute: Any) -> Any:
    from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList

    @functools.wraps(set_schema_attribute)
    def setSchemaAttribute(self: Any, attrib_name: Any, attrib_value: Any) -> None:  # noqa: N802 - Ganga's name
        if self is _FILLING.job and attrib_name == _FILLING.name and not isinstance(attrib_value, SubJobXMLList):
            return  # the class default, which Ganga set for a moment before the list of the subjobs on disk
        set_schema_attribute(self, attrib_name, attrib_value)

    setSchemaAttribute.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return setSchemaAttribute
