"""Item 8: reads of values already loaded never wait for the lock Ganga's flusher holds.

What: ``Descriptor.__get__`` (every attribute read of every Ganga object)
returns a value already in the object's ``_data`` without taking the root
object's lock.

Why: stock takes the master job's lock for every read, the same lock Ganga's
registry flusher holds while it saves all of a master's dirty subjobs
(seconds at thousands of subjobs): the prompt's ``j.status`` waited for a
whole flush (REPOSITORY_NOTES §1; Ganga's own comment at ``Registry.py:169``
intends "no changes occur while flushing though reads can").

Contract: a dict read is atomic, so the value read is one a writer stored
whole.  A component object (a ``Node``) is returned lock-free only once its
parent is set (a writer attaches it after storing it).  A getter (Ganga's
five: a job's ``fqid``, ``master``, ``inputdir``, ``outputdir``, a file's
``name``, each computed from ids and parents, the directories made if
missing) runs without the lock too, its own reads being reads as here.
Anything else — a lazy load from disk, the index cache, a default — takes
the stock, locked path; a value that only a load from disk can give is
loaded first, without the root's lock (Ganga loaded it holding that lock,
which a load in another thread needs to attach each component it sets: the
reader waited for the registry's locks that load held, a deadlock; forced in
``tests/ganga/test_single_loads.py``).  Writes are unchanged.  :func:`lock_free_reads`
installs it when the component starts.

Undone by: remove() restores Ganga's ``__get__`` (the ledger).
"""

from __future__ import annotations

import functools
from typing import Any

from .ledger import _lock, _wrap

_MISSING = object()


def lock_free_reads() -> None:
    """Install item 8 (idempotent; undone by remove)."""
    from GangaCore.GPIDev.Base.Objects import Descriptor

    with _lock:
        _wrap(Descriptor, "__get__", _reading_without_lock)


def _reading_without_lock(locked_get: Any) -> Any:
    from GangaCore.GPIDev.Base.Objects import Node

    is_node: dict[type, bool] = {}
    """type -> is it a ``Node``: ``isinstance`` against Ganga's abstract ``Node`` runs ``ABCMeta``'s
    Python-level check, on every read (about 2 % of the GIL of a compatibility-path burst); Ganga
    registers no virtual subclasses of it, so a type's answer never changes."""

    @functools.wraps(locked_get)
    def get(self: Any, obj: Any, cls: Any) -> Any:
        if obj is not None and self._getter_name:
            return getattr(obj, self._getter_name)()
        if obj is not None:
            data = getattr(obj, "_data_dict", None)
            if data is not None:
                value = data.get(self._name, _MISSING)
                if value is not _MISSING:
                    kind = type(value)
                    node = is_node.get(kind)
                    if node is None:
                        node = is_node[kind] = issubclass(kind, Node)
                    if not node or value._parent is obj:
                        return value
                elif getattr(obj, "_should_load", False) and self._name not in obj._index_cache_dict:
                    obj._loadObject()  # not under the root's lock: a load in another thread needs it
        return locked_get(self, obj, cls)

    get.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return get
