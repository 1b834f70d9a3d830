"""A flush of a split job costs what changed: the pieces of ``patches`` item 11.

Ganga's flush of a master job rewrites ``subjobs.idx``, one index entry per
subjob, and computed every entry anew (``JobRegistry.getIndexCache``, ~0.3
ms each, half of it building a registry slice): 3 s of GIL per flush at
10,000 subjobs, though monitoring changed a few dozen since the last one.
And a master loaded from disk never cleared its subjobs' dirty flags, so
every flush rewrote every subjob ever changed in the session
(``../shared/REPOSITORY_NOTES.md`` §2-3).

:class:`IndexMemo` keeps the entry of each subjob until the subjob is saved
again.  Why that is enough: an entry is a function of the subjob's values;
a subjob whose values changed is dirty; Ganga saves every dirty subjob of a
master before it writes that master's index, under the master's lock, which
every writer of a subjob also takes.  So a subjob not saved since its entry
was computed has the values the entry was computed from.

:class:`StatMemo` does the same for the ctime stamped on each entry.

Entries are held through weak references to the subjob (a removed job's
entries go with it) and returned as copies (the caller adds ``modified``).
Thread-safe.  Ganga-free: subjobs are opaque objects.
"""

from __future__ import annotations

import os
import stat as stat_module
import threading
import weakref
from typing import Any


class IndexMemo:
    """Index entries of subjobs, each valid until its subjob is saved again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, tuple[weakref.ref[Any], dict[str, Any]]] = {}
        self.computed = 0
        """Entries computed (not found in the memo) since this memo was made."""
        self.reused = 0

    def get(self, subjob: Any) -> dict[str, Any] | None:
        """A copy of ``subjob``'s entry, or None if it has none or was saved since."""
        with self._lock:
            found = self._entries.get(id(subjob))
            if found is None or found[0]() is not subjob:
                return None
            self.reused += 1
            return _copy(found[1])

    def put(self, subjob: Any, entry: dict[str, Any]) -> None:
        key = id(subjob)

        def gone(_ref: weakref.ref[Any], key: int = key) -> None:
            with self._lock:
                current = self._entries.get(key)
                if current is not None and current[0] is _ref:
                    del self._entries[key]

        with self._lock:
            self.computed += 1
            self._entries[key] = (weakref.ref(subjob, gone), _copy(entry))

    def forget(self, subjob: Any) -> None:
        """``subjob`` is being saved: its values may have changed since its entry was computed."""
        with self._lock:
            self._entries.pop(id(subjob), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"<IndexMemo entries={len(self)} computed={self.computed} reused={self.reused}>"


def _copy(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, list) else value for key, value in entry.items()}


class StatMemo:
    """``os.stat`` of subjob data files, each valid until the file is saved again.

    Ganga stamps each index entry with its data file's ctime, one ``stat``
    per subjob per flush, each a GIL hand-off under load.  A data file is
    rewritten only by ``safe_save`` (which forgets it here first); were it
    changed otherwise, the stamp would be older than the file and Ganga
    would read that subjob from disk instead of trusting the index: slower,
    never wrong.  Only regular files are kept (a directory's ctime moves
    with every save in it); at most ``limit`` paths (then it starts afresh).
    """

    def __init__(self, limit: int = 500_000) -> None:
        self._lock = threading.Lock()
        self._found: dict[str, os.stat_result] = {}
        self.limit = limit

    def stat(self, path: str) -> os.stat_result:
        key = os.path.normpath(path)
        with self._lock:
            found = self._found.get(key)
        if found is not None:
            return found
        result = os.stat(path)
        if stat_module.S_ISREG(result.st_mode):
            with self._lock:
                if len(self._found) >= self.limit:
                    self._found.clear()
                self._found[key] = result
        return result

    def forget(self, path: str) -> None:
        with self._lock:
            self._found.pop(os.path.normpath(path), None)

    def clear(self) -> None:
        with self._lock:
            self._found.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._found)


class IndexWriting(threading.local):
    """Set while this thread writes a subjob index: only then are entries taken from the memo."""

    active: bool = False
