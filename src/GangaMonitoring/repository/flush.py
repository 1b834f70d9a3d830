"""A flush of a split job costs what changed and holds its lock briefly: the pieces of ``patches`` items 11 and 13.

Ganga's flush of a master job rewrites ``subjobs.idx``, one index entry per
subjob, and computed every entry anew (``JobRegistry.getIndexCache``, ~0.3
ms each, half of it building a registry slice): 3 s of GIL per flush at
10,000 subjobs, though monitoring changed a few dozen since the last one.
And a master loaded from disk never cleared its subjobs' dirty flags, so
every flush rewrote every subjob ever changed in the session
(``docs/repository.md``, items 11 and 13).

:class:`IndexMemo` keeps the entry of each subjob until the subjob is saved
again.  Why that is enough: an entry is a function of the subjob's values;
a subjob whose values changed is dirty; Ganga saves every dirty subjob of a
master before it writes that master's index, under the master's lock, which
every writer of a subjob also takes.  So a subjob not saved since its entry
was computed has the values the entry was computed from.

:class:`StatMemo` does the same for the ctime stamped on each entry.

Entries are held through weak references to the subjob (a removed job's
entries go with it) and returned as shallow copies: Ganga's index writer adds
``modified`` to what it gets and only pickles the rest.
Thread-safe.  Ganga-free: subjobs are opaque objects.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat as stat_module
import threading
import time
from collections.abc import Callable, Iterator

from ..core.weak import PerObject
from typing import Any


class IndexMemo:
    """Index entries of subjobs, each valid until its subjob is saved again."""

    def __init__(self) -> None:
        self._entries: PerObject[dict[str, Any]] = PerObject()
        self.computed = 0
        """Entries computed (not found in the memo) since this memo was made."""
        self.reused = 0

    def get(self, subjob: Any) -> dict[str, Any] | None:
        """A copy of ``subjob``'s entry, or None if it has none or was saved since."""
        entry = self._entries.get(subjob)
        if entry is None:
            return None
        self.reused += 1
        return dict(entry)  # the writer adds ``modified``; the lists in it are read, never changed

    def put(self, subjob: Any, entry: dict[str, Any]) -> None:
        self.computed += 1
        self._entries.put(subjob, _copy(entry))

    def forget(self, subjob: Any) -> None:
        """``subjob`` is being saved: its values may have changed since its entry was computed."""
        self._entries.forget(subjob)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
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
    changed otherwise, the stamp would be older than the file (Ganga 8.7.12's
    loader does not compare the stamps: its check is commented out, so the
    stamp is only ever written, never trusted or doubted).  Only regular files are kept (a directory's ctime moves
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


class RootEntries:
    """The index entries of top-level jobs a thread flushes, each computed once per flush.

    Ganga's flush of one job (``GangaRepositoryLocal.flush``) computes the
    job's index entry three times (two ``index_write`` calls and its
    ``_index_cache``), each walking the status of every subjob.  Within
    :meth:`flushing`, an entry computed for a job is kept and handed out
    again (as a copy) while ``generation()`` is unchanged.  Why the same
    values: the flusher holds the job's lock, which every writer of the job
    or its subjobs takes, and lets it go only where a bounded hold yields to
    writers (before a subjob save), which must change ``generation``.
    Kept per thread, and nothing once the thread's outermost
    :meth:`flushing` ends.  Ganga-free: jobs are opaque.
    """

    def __init__(self, generation: Callable[[], int] = lambda: 0) -> None:
        self.generation = generation
        self._local = threading.local()
        self._lock = threading.Lock()
        self.computed = 0
        """Entries computed within a flush (all threads)."""
        self.reused = 0

    @property
    def active(self) -> bool:
        """This thread is within :meth:`flushing`."""
        return getattr(self._local, "entries", None) is not None

    @contextlib.contextmanager
    def flushing(self) -> Iterator[None]:
        if self.active:
            yield
            return
        self._local.entries = {}
        try:
            yield
        finally:
            self._local.entries = None

    def entry(self, root: Any, compute: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        """``compute(root)``, or a copy of what it gave before in this thread's flush."""
        entries: dict[int, tuple[Any, int, dict[str, Any]]] | None = getattr(self._local, "entries", None)
        if entries is None:
            return compute(root)
        generation = self.generation()
        found = entries.get(id(root))
        if found is not None and found[0] is root and found[1] == generation:
            with self._lock:
                self.reused += 1
            return _copy(found[2])
        entry = compute(root)
        with self._lock:
            self.computed += 1
        entries[id(root)] = (root, generation, _copy(entry))
        return entry

    def __repr__(self) -> str:
        return f"<RootEntries computed={self.computed} reused={self.reused}>"


FileKey = tuple[int, int, int, int, int]
"""A file as found on disk: (device, inode, size, mtime in ns, ctime in ns)."""


def file_key(path: str) -> FileKey | None:
    """``path``'s :data:`FileKey`, None if there is no such file."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns


class IndexWrites:
    """Which masters' subjob index on disk is still the one last written for them, no subjob saved since.

    A master's index (``subjobs.idx``) is a function of its subjobs' saved
    values and the ctimes of their data files; so it can change only when one
    of its subjobs is saved.  Ganga rewrote it whole at every flush of the
    master (for 1,000 subjobs, 15 of a flush's 21 ms, under the master's
    lock, when only the master's own status had moved).

    Contract: :meth:`saved` is called before every save of a subjob;
    :meth:`current` is true only if :meth:`wrote` recorded, for this very
    master, the file now on disk (its :data:`FileKey`: another writer's file,
    or none, is not current) with no :meth:`saved` for it since the
    :meth:`saves` count the write started from.  A write that failed leaves
    the old file, which :meth:`wrote` is not told of (the caller compares
    the keys before and after).  Held through weak references to the masters.
    Thread-safe; Ganga-free: masters are opaque objects.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._saves: PerObject[int] = PerObject()
        self._written: PerObject[tuple[int, FileKey]] = PerObject()
        self.written = 0
        """Index writes recorded."""
        self.skipped = 0
        """Index writes found needless (:meth:`current` true)."""

    def saves(self, master: Any) -> int:
        """How many saves of ``master``'s subjobs were announced so far (read before computing an index)."""
        with self._lock:
            return self._saves.get(master) or 0

    def saved(self, master: Any) -> None:
        """A subjob of ``master`` is about to be saved: its index is to be written again."""
        with self._lock:
            self._saves.put(master, (self._saves.get(master) or 0) + 1)

    def wrote(self, master: Any, saves: int, on_disk: FileKey) -> None:
        """``master``'s index, computed after ``saves`` saves of its subjobs, is the file ``on_disk``."""
        with self._lock:
            self.written += 1
            self._written.put(master, (saves, on_disk))

    def current(self, master: Any, on_disk: FileKey | None) -> bool:
        """The index ``on_disk`` is the one last written for ``master``, and no subjob was saved since."""
        with self._lock:
            written = self._written.get(master)
            fresh = (on_disk is not None and written is not None and written[1] == on_disk
                     and written[0] == (self._saves.get(master) or 0))
            if fresh:
                self.skipped += 1
            return fresh

    def clear(self) -> None:
        with self._lock:
            self._saves.clear()
            self._written.clear()

    def __repr__(self) -> str:
        return f"<IndexWrites written={self.written} skipped={self.skipped} masters={len(self._written)}>"


class IndexWriting(threading.local):
    """Set while this thread writes a subjob index: only then are entries taken from the memo."""

    active: bool = False
    unread_index: bool = False
    """This thread flushes a master made in this session: the ``subjobs.idx`` on disk is not read
    (Ganga's temporary subjob list for it writes every entry from the subjobs in memory)."""


def hold_count(lock: Any) -> int | None:
    """How many times its owner holds ``lock`` (a ``threading.RLock``), None if it cannot be told.

    Read from the lock's repr (CPython's RLock has no other public way to
    tell); only meaningful when called by the owner.  The runtime package's
    way to tell a flush's own hold (:meth:`HeldLock.yield_to_writers`'
    ``held_once``): Ganga 8.7.12's flusher does not say what it holds."""
    if not lock._is_owned():
        return 0
    match = re.search(r"\bcount=(\d+)", repr(lock))
    return int(match.group(1)) if match else None


class HeldLock:
    """Bounded holds of a job's lock by the registry flusher (``patches`` item 13).

    Ganga's flusher holds a master job's lock for the whole flush of that
    master, and every writer of the master or of any of its subjobs (a
    monitoring worker's ``updateStatus``, the user's ``j.kill()``) takes the
    same lock: at thousands of changed subjobs each writer waited seconds.
    Between two subjob saves, once the lock has been held ``budget`` seconds,
    the flusher lets it go for a moment (``yield_to_writers``) and takes it
    back, so a writer waits at most about one budget plus one save.

    A writer that changes a subjob while the lock is let go is *noted*
    (:meth:`note`: the root is registered for noting before its lock is
    let go, so no writer gets in unnoted); before the subjob index is
    written (the flush's last locked step for its subjobs, after which the
    lock is held to the end)
    the noted subjobs still dirty are saved again (:meth:`take_noted`), so the
    flush ends with every subjob saved as it is, as when the lock was held
    throughout, and the index computed from saved values only.  Only a lock
    this thread holds once (the caller's ``held_once`` says) is let go: an
    outer caller holding it too (a submit that flushes) relies on it, and
    keeps it.

    A write typed at the prompt is handed the lock (:meth:`prompt_first`):
    while it waits for a root's lock, the flush holding that lock lets it go
    at its next subjob save, budget or not, and waits until the prompt has
    it (at most ``handoff`` seconds) before taking it back.  A bare let-go
    lasts ``window``: a thread that gets no core within it (a loaded
    machine) finds the lock taken again, save after save.

    Per thread (``active``, the hold's start); the noted subjobs and the
    prompt's waits are shared (writers note from their own threads).
    Ganga-free: locks are ``threading.RLock``; jobs are opaque.
    """

    def __init__(self, budget: float = 0.005, clock: Callable[[], float] = time.monotonic,
                 window: float = 0.0002, handoff: float = 0.05) -> None:
        self.budget = budget
        self.window = window
        self.handoff = handoff
        self._clock = clock
        self._prompt_waits: dict[int, threading.Event] = {}
        """id(root) -> set once the prompt's write has the root's lock (:meth:`prompt_first`)."""
        self.flushing = 0
        """Bounded flushes running (all threads): a prompt's write asks for a handoff only meanwhile."""
        self.handoffs = 0
        """How many times a lock was let go to a waiting prompt (all threads)."""
        self._local = threading.local()
        self._lock = threading.Lock()
        self._noted: dict[int, dict[int, Any]] = {}
        """id(root) -> {id(subjob): subjob} changed while the root's lock was let go."""
        self.yields = 0
        """How many times a lock was let go (all threads)."""

    @property
    def active(self) -> bool:
        """This thread runs a flush whose holds are bounded (Ganga's ``Registry.flush_all``)."""
        return bool(getattr(self._local, "active", False))

    @contextlib.contextmanager
    def bounded(self) -> Iterator[None]:
        """Within: this thread's flushes let their locks go between subjob saves.

        Roots this thread let go and did not :meth:`take_noted` (a flush that
        failed half-way) stop being noted at the end: their changed subjobs
        stay dirty, and the next flush saves them.
        """
        if self.active:
            yield
            return
        self._local.active = True
        self._local.held_since = {}
        with self._lock:
            self.flushing += 1
        try:
            yield
        finally:
            self._local.active = False
            with self._lock:
                self.flushing -= 1
                for root_id in self._local.held_since:
                    self._noted.pop(root_id, None)
            self._local.held_since = {}

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Within: this thread lets no lock go (a flush's last steps)."""
        outer = self.active
        self._local.active = False
        try:
            yield
        finally:
            self._local.active = outer

    def yield_to_writers(self, root: Any, lock: Any, held_once: Callable[[Any], bool]) -> bool:
        """Before a subjob of ``root`` is saved: let ``lock`` go if held ``budget`` s (True if let go).

        ``held_once(lock)`` tells whether this thread holds ``lock`` once, the flush's own hold (asked only
        when the budget is spent): on Ganga 8.7.12 read from the lock itself, on a Ganga whose flusher says
        what it holds from that.  The lock is released once and taken back once
        (public ``release``/``acquire``): were an outer caller holding it too, it would stay held."""
        if not self.active:
            return False
        held_since: dict[int, float] = self._local.held_since
        now = self._clock()
        started = held_since.setdefault(id(root), now)
        prompt = self._prompt_waits.get(id(root))
        if prompt is None and now - started < self.budget:
            return False
        if not held_once(lock):  # an outer caller holds it too (or it is not ours): it stays held
            held_since[id(root)] = now
            return False
        with self._lock:  # noted *before* the lock is let go: a writer that gets in is always noted
            self._noted.setdefault(id(root), {})
            self.yields += 1
            self.handoffs += prompt is not None
        self._let_go(lock)
        try:
            if prompt is not None:
                prompt.wait(self.handoff)  # the prompt takes the lock (taking it back waits for its write)
            else:
                time.sleep(self.window)  # a waiting writer takes the lock now (a bare GIL switch may not wake it)
        finally:
            self._take_back(lock)
        held_since[id(root)] = self._clock()
        return True

    @contextlib.contextmanager
    def prompt_first(self, root: Any, lock: Any) -> Iterator[None]:
        """Within: the prompt's thread holds ``lock`` (``root``'s), taken at a running flush's next subjob
        save rather than at the end of its budget or the flush.  Cheap when no bounded flush runs."""
        if not self.flushing or lock._is_owned():
            with lock:
                yield
            return
        taken = threading.Event()
        with self._lock:
            self._prompt_waits[id(root)] = taken
        try:
            with lock:
                taken.set()
                self._forget_prompt(root, taken)
                yield
        finally:
            self._forget_prompt(root, taken)

    def prompt_waiting(self, root: Any) -> bool:
        """The prompt's write waits for ``root``'s lock (:meth:`prompt_first`)."""
        return id(root) in self._prompt_waits

    def _forget_prompt(self, root: Any, taken: threading.Event) -> None:
        with self._lock:
            if self._prompt_waits.get(id(root)) is taken:
                del self._prompt_waits[id(root)]

    @staticmethod
    def _let_go(lock: Any) -> None:
        """Let go of ``lock``, held once by this thread (:meth:`_take_back` takes it back)."""
        lock.release()

    @staticmethod
    def _take_back(lock: Any) -> None:
        lock.acquire()

    @property
    def noting(self) -> bool:
        """Some flush let a lock go and has not written its subjob index yet (a cheap check)."""
        return bool(self._noted)

    def note(self, root: Any, subjob: Any) -> None:
        """``subjob`` of ``root`` was changed: kept if a flush let ``root``'s lock go."""
        with self._lock:
            noted = self._noted.get(id(root))
            if noted is not None:
                noted[id(subjob)] = subjob

    def saving(self, root: Any, subjob: Any) -> None:
        """``subjob`` is being saved as it is now (under ``root``'s lock): no need to save it again."""
        with self._lock:
            noted = self._noted.get(id(root))
            if noted is not None:
                noted.pop(id(subjob), None)

    def take_noted(self, root: Any) -> list[Any]:
        """The subjobs of ``root`` changed while its lock was let go; stops noting them."""
        with self._lock:
            found = self._noted.pop(id(root), {})
        held_since = getattr(self._local, "held_since", None)
        if held_since is not None:
            held_since.pop(id(root), None)
        return list(found.values())

    def __repr__(self) -> str:
        return (f"<HeldLock budget={self.budget}s yields={self.yields} handoffs={self.handoffs} "
                f"noting={len(self._noted)} roots>")


class AtomicFile:
    """A file written under a temp name beside ``path`` and renamed over ``path`` when closed.

    Readers see the old file whole until :meth:`close`, then the new one
    whole; a writer that fails (or is killed) before closing leaves the old
    file as it was.  Ganga writes a master's ``subjobs.idx`` after its
    subjobs' data files, so an index is never ahead of them: at worst (a kill
    between the two) it is older, and until the master is flushed again Ganga
    answers the statuses of subjobs not yet loaded from it (its loader trusts
    the index, as in stock); a subjob loaded is read from its file.
    An instance dropped unclosed (Ganga does not close the file when its
    writer raises) removes its temp file.
    """

    def __init__(self, path: str, mode: str = "wb") -> None:
        self.path = path
        self._temp = f"{path}.{os.getpid()}-{threading.get_ident()}.tmp"
        self._handle = open(self._temp, mode)  # noqa: SIM115 - closed by close() or discard()
        self.closed = False

    def write(self, data: Any) -> int:
        return self._handle.write(data)

    def close(self) -> None:
        """Write the new file in place of the old (idempotent)."""
        if self.closed:
            return
        self.closed = True
        try:
            self._handle.close()
            os.replace(self._temp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(self._temp)
            raise

    def discard(self) -> None:
        """Give up: the old file stays, the temp file goes (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self._handle.close()
        with contextlib.suppress(OSError):
            os.remove(self._temp)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.discard()
