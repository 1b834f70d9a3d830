"""Ganga-free: one inotify instance and one thread watching many directories for a few file names.

Each watched directory belongs to one *token* (a job); when one of the
``names`` in it is closed after writing, or moved there, the
tokens whose files changed in one read of the kernel's queue are given to
``on_change`` together (in the watcher's thread, which must not block long).

Contract:

- one inotify file descriptor and at most one thread, started with the first
  watch and ended by :meth:`stop` (which also removes every watch); nothing
  runs while nothing is watched, and the thread blocks in ``poll()`` without
  a timeout when idle (no periodic wake-up);
- at most ``limit`` watches: :meth:`watch` refuses beyond it, and when the
  kernel refuses (``ENOSPC``: ``fs.inotify.max_user_watches`` reached by this
  user's processes; ``ENOENT``: no such directory), saying why; the caller
  then polls that job as before;
- a watch goes with :meth:`unwatch`, or by itself when its directory is
  deleted (``IN_IGNORED``) or watched again for another token; a queue
  overflow (``IN_Q_OVERFLOW``) reports every token (nothing can be known to
  be unchanged);
- :meth:`watched_in` counts the watches of each ``group(token)`` as they are,
  whichever way a watch went.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from typing import Any

try:
    from inotify_simple import INotify, flags
except ImportError:  # not Linux: nothing is watched, every job is polled
    INotify = None  # type: ignore[assignment,misc]
    IN_CLOSE_WRITE, IN_MOVED_TO, IN_ONLYDIR, IN_IGNORED, IN_Q_OVERFLOW = 0x8, 0x80, 0x1000000, 0x8000, 0x4000
    IN_MODIFY = 0x2
else:
    IN_CLOSE_WRITE, IN_MOVED_TO, IN_ONLYDIR, IN_MODIFY = flags.CLOSE_WRITE, flags.MOVED_TO, flags.ONLYDIR, flags.MODIFY
    IN_IGNORED, IN_Q_OVERFLOW = flags.IGNORED, flags.Q_OVERFLOW

MASK = IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR
"""What is watched: a file written and closed, or moved in.  Ganga's Local and Batch wrappers keep
``__jobstatus__`` open from the job's start and close it after its STOP line: its close is the job's
end.  Never plain writes (``IN_MODIFY``): a Batch job's stdout, in the same directory, would wake the
thread on every line, and its heartbeat file every ``heartbeat_frequency`` - unless a watch asks for them
(``watch(..., writes=True)``: a Condor job's directory, whose event log HTCondor's shadow keeps open while
it writes an event at a time, and whose stdout comes back whole at the end)."""


def max_user_watches(path: str = "/proc/sys/fs/inotify/max_user_watches") -> int | None:
    """The kernel's limit of inotify watches per user (None: unknown)."""
    try:
        with open(path, encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


class WatchRefused(Exception):
    """A directory could not be watched: the job is polled instead (the message says why)."""


class DirectoryWatcher:
    """Watches of directories for files named ``names``, one thread for all (see the module's contract)."""

    def __init__(self, names: Iterable[str], on_change: Callable[[list[Hashable]], None], limit: int,
                 name: str = "GangaMonitoring-file-events",
                 group: Callable[[Hashable], Hashable] = lambda token: token) -> None:
        self.names = frozenset(names)
        self.group = group
        self.on_change = on_change
        self.limit = limit
        self.thread_name = name
        self._lock = threading.Lock()
        self._inotify: Any = None
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._by_wd: dict[int, Hashable] = {}
        self._by_token: dict[Hashable, int] = {}
        self._groups: Counter[Hashable] = Counter()
        """group(token) -> tokens watched: kept with ``_by_token`` (:meth:`_add`, :meth:`_drop`)."""
        self._stopped = False
        self.events = 0
        """Events read that named one of ``names`` (for statistics)."""
        self.overflows = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_token)

    def watching(self, token: Hashable) -> bool:
        with self._lock:
            return token in self._by_token

    def watched_in(self, group: Hashable) -> int:
        """How many tokens of ``group`` (``group(token)``) are watched now."""
        with self._lock:
            return self._groups[group]

    def watch(self, token: Hashable, directory: str, writes: bool = False) -> None:
        """Watch ``directory`` for ``token`` (again: nothing more); raise :class:`WatchRefused` when it cannot.

        ``writes``: each write of a watched name counts too (``IN_MODIFY``), not only its close.
        """
        with self._lock:
            if self._stopped:
                raise WatchRefused("file events are stopped")
            if token in self._by_token:
                return
            if len(self._by_token) >= self.limit:
                raise WatchRefused(f"{self.limit} directories are watched already ([Monitoring]max_file_watches)")
            inotify = self._started()
            try:
                wd = inotify.add_watch(directory, MASK | (IN_MODIFY if writes else 0))
            except OSError as err:
                if err.errno == errno.ENOSPC:
                    raise WatchRefused("the kernel's inotify watches are used up (fs.inotify.max_user_watches)") \
                        from err
                raise WatchRefused(f"{directory}: {err.strerror}") from err
            old = self._by_wd.get(wd)
            if old is not None:  # the same directory for another token (a job resubmitted): the newest wins
                self._drop(old)
            self._add(token, wd)

    def unwatch(self, token: Hashable) -> None:
        """Stop watching ``token``'s directory (not watched: nothing)."""
        with self._lock:
            wd = self._drop(token)
            if wd is None:
                return
            if self._inotify is not None:
                with contextlib.suppress(OSError):  # its directory went already (IN_IGNORED is on its way)
                    self._inotify.rm_watch(wd)

    def _add(self, token: Hashable, wd: int) -> None:
        """``token`` watched by ``wd`` (under the lock)."""
        self._by_wd[wd] = token
        self._by_token[token] = wd
        self._groups[self.group(token)] += 1

    def _drop(self, token: Hashable) -> int | None:
        """``token`` no longer watched (under the lock); its watch descriptor, None if it was not watched."""
        wd = self._by_token.pop(token, None)
        if wd is None:
            return None
        if self._by_wd.get(wd) == token:
            del self._by_wd[wd]
        group = self.group(token)
        self._groups[group] -= 1
        if self._groups[group] <= 0:
            del self._groups[group]
        return wd

    def _started(self) -> Any:
        """The inotify instance and its thread, made on first use (under the lock)."""
        if self._inotify is None:
            if INotify is None:
                raise WatchRefused("inotify is not available on this system")
            try:
                self._inotify = INotify(nonblocking=True)
            except OSError as err:  # EMFILE: fs.inotify.max_user_instances reached
                raise WatchRefused(f"no inotify instance could be made: {err.strerror}") from err
            self._wake_r, self._wake_w = os.pipe()
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()
        return self._inotify

    def _run(self) -> None:
        inotify = self._inotify
        assert inotify is not None
        poller = select.poll()
        poller.register(inotify.fileno(), select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        while True:
            ready = {fd for fd, _ in poller.poll()}
            if self._wake_r in ready:
                return
            try:
                events = inotify.read(timeout=0)
            except OSError:
                return  # closed under us by stop()
            self._dispatch(events)

    def _dispatch(self, events: Iterable[Any]) -> None:
        changed: list[Hashable] = []
        with self._lock:
            for event in events:
                if event.mask & IN_Q_OVERFLOW:
                    self.overflows += 1
                    changed.extend(self._by_token)
                    continue
                if event.mask & IN_IGNORED:
                    token = self._by_wd.get(event.wd)
                    if token is not None:
                        self._drop(token)
                    continue
                token = self._by_wd.get(event.wd)
                if token is not None and event.name in self.names:
                    self.events += 1
                    if token not in changed:
                        changed.append(token)
        if changed:
            self.on_change(changed)

    def stop(self) -> None:
        """Remove every watch, end the thread and close the descriptor (idempotent; waits for the thread)."""
        with self._lock:
            self._stopped = True
            thread, inotify = self._thread, self._inotify
            self._by_wd.clear()
            self._by_token.clear()
            self._groups.clear()
            if thread is not None:
                os.write(self._wake_w, b"x")
        if thread is not None and thread is not threading.current_thread():
            thread.join(10)
        with self._lock:
            if inotify is not None:
                inotify.close()  # removes the kernel's watches with it
                os.close(self._wake_r)
                os.close(self._wake_w)
            self._inotify, self._thread = None, None

    def thread_alive(self) -> bool:
        with self._lock:
            return self._thread is not None and self._thread.is_alive()
