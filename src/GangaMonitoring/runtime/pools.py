"""The executors monitoring work runs on, kept apart so no kind starves another.

::

    poll  threads ── status queries: many, short, I/O-bound
    io    threads ── output retrieval: few, long, I/O-bound
    cpu   threads ── finalisation coordinators: each sends the CPU-heavy,
           │          picklable step to a worker *process*, then applies the
           ▼          short result (a state change) in this process
    processes ────── unpacking, checksums, merges: they run outside our GIL,
                     so the user's prompt stays responsive

Only plain data crosses into a process (paths, patterns, numbers): Ganga's
job objects do not pickle.  A process pool that broke (a worker was killed)
is replaced on the next call and the call is retried once on the new pool.
Threads are daemons that take work until :meth:`Pools.shutdown` (``daemon_pool``): Ganga stops
monitoring from ``atexit``, after the standard pools would already refuse work.  A call refused because
the pools are shut down, or the interpreter is exiting, raises :class:`PoolsClosed`: the session's end,
nobody's failure.  Every thread is named ``GangaMon-<pool>_<n>`` and every busy worker records
what it runs and since when, for ``queues``.

How many threads: the scheduler decides what runs (a pool's *size* is its
slots); each thread pool may start ``2 × size + REPLACEMENT_THREADS``
threads, lazily: one per slot, one per slot for work its holder lent it
while it waits (``Scheduler.take``), and the replacements of threads stuck
in hung calls (``Scheduler.declare_hung``, :meth:`Pools.mark_hung`).  Worker processes log into
Ganga's log file through concurrent-log-handler, which locks the file around
each write, so their lines never tear the parent's; they run ``niceness`` steps
nicer than the session, so the kernel gives a core to the prompt first.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.context
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Mapping

from ..core.clock import Clock
from .daemon_pool import DaemonThreadPool
from ..core.work import REPLACEMENT_THREADS

THREAD_POOLS = ("poll", "io", "cpu")


@dataclass(frozen=True)
class WorkerActivity:
    """What one busy worker runs, for display."""

    worker: str
    description: str
    since: float


@dataclass(frozen=True)
class PoolStatistics:
    """A printable snapshot of one pool."""

    name: str
    workers: int
    busy: int
    activities: tuple[WorkerActivity, ...]
    hung: tuple[WorkerActivity, ...] = ()
    """Threads stuck in calls declared hung (not counted in ``busy``)."""

    def __str__(self) -> str:
        hung = f", {len(self.hung)} hung" if self.hung else ""
        return f"{self.name}: {self.busy}/{self.workers} busy{hung}"


class PoolsClosed(RuntimeError):
    """The pools are shut down (the component is stopping) or the interpreter is exiting: no new work is
    taken.  Work that meets it is abandoned, not failed (``Scheduler.abandon``): the next session takes it up."""


class Pools:
    """Three thread pools and a lazily started process pool, sized from config."""

    def __init__(self, sizes: Mapping[str, int], clock: Clock, prefix: str = "GangaMon",
                 log_file: str | None = None, log_level: int = logging.WARNING, niceness: int = 0) -> None:
        self._worker_setup = (log_file, log_level, niceness)
        self._sizes = {name: max(1, int(sizes.get(name, 1))) for name in (*THREAD_POOLS, "processes")}
        self._clock = clock
        self._prefix = prefix
        self._threads: dict[str, DaemonThreadPool] = {
            name: DaemonThreadPool(2 * self._sizes[name] + REPLACEMENT_THREADS, thread_name_prefix=f"{prefix}-{name}")
            for name in THREAD_POOLS
        }
        self._processes: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._activity: dict[str, dict[str, WorkerActivity]] = {name: {} for name in THREAD_POOLS}
        self._hung: dict[str, dict[str, WorkerActivity]] = {name: {} for name in THREAD_POOLS}
        self._closed = False

    @property
    def sizes(self) -> dict[str, int]:
        return dict(self._sizes)

    def submit(self, pool: str, fn: Callable[..., Any], *args: Any, description: str = "") -> Future[Any]:
        """Run ``fn(*args)`` on thread pool ``pool``, recording it as that worker's activity."""
        if self._closed:
            raise PoolsClosed("pools are shut down")
        try:
            return self._threads[pool].submit(self._tracked, pool, description or _describe(fn), fn, args)
        except RuntimeError as err:  # shut down between the check and the submit
            raise PoolsClosed(f"pools are shut down ({err})") from err

    def _tracked(self, pool: str, description: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        worker = threading.current_thread().name
        with self._lock:
            self._activity[pool][worker] = WorkerActivity(worker, description, self._clock.now())
        try:
            return fn(*args)
        finally:
            with self._lock:
                self._activity[pool].pop(worker, None)
                self._hung[pool].pop(worker, None)

    def mark_hung(self, pool: str, worker: str) -> None:
        """``worker`` of ``pool`` is stuck in a call declared hung: shown apart until the call returns."""
        with self._lock:
            activity = self._activity[pool].pop(worker, None)
            if activity is not None:
                self._hung[pool][worker] = activity

    def run_in_process(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        """Run the picklable ``fn(*args)`` in a worker process and wait for its result.

        Call this from a ``cpu`` pool thread.  If the process pool is broken
        (a worker died), it is replaced and the call retried once.
        Raises :class:`PoolsClosed` once the pools are shut down, also when
        that happens between finding the process pool and submitting to it.
        """
        for attempt in (1, 2):
            executor = self._process_pool()
            try:
                future = executor.submit(fn, *args)
            except BrokenProcessPool:
                self._replace_broken(executor)
                if attempt == 2:
                    raise
                continue
            except RuntimeError as err:  # the executor's own "cannot schedule new futures after shutdown"
                if self._closed:  # set before any executor is shut down
                    raise PoolsClosed(f"pools are shut down ({err})") from err
                if not threading.main_thread().is_alive():  # the interpreter exits: its process pools take no work
                    raise PoolsClosed(f"the interpreter is exiting ({err})") from err
                if attempt == 2:
                    raise
                continue  # another thread replaced a broken pool under us: the new one takes it
            try:
                return future.result(timeout)
            except BrokenProcessPool:
                self._replace_broken(executor)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _process_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise PoolsClosed("pools are shut down")
            if self._processes is None:
                self._processes = ProcessPoolExecutor(self._sizes["processes"], mp_context=_worker_context(),
                                                      initializer=start_worker, initargs=self._worker_setup)
            return self._processes

    def _replace_broken(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._processes is broken:
                self._processes = None
        broken.shutdown(wait=False, cancel_futures=True)

    def statistics(self) -> list[PoolStatistics]:
        with self._lock:
            stats = [
                PoolStatistics(name, self._sizes[name], len(self._activity[name]),
                               tuple(self._activity[name].values()), tuple(self._hung[name].values()))
                for name in THREAD_POOLS
            ]
            started = self._processes is not None
        stats.append(PoolStatistics("processes", self._sizes["processes"] if started else 0, 0, ()))
        return stats

    def shutdown(self, wait: bool = False) -> None:
        """Stop taking work; queued work is dropped, running work finishes."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            processes, self._processes = self._processes, None
        for executor in self._threads.values():
            executor.shutdown(wait=wait, cancel_futures=True)
        if processes is not None:
            processes.shutdown(wait=wait, cancel_futures=True)

    def __repr__(self) -> str:
        return "<Pools " + ", ".join(str(s) for s in self.statistics()) + ">"


WORKER_PRELOAD = ["GangaMonitoring.runtime.worker_boot", "GangaMonitoring.runtime.pools",
                  "GangaMonitoring.drivers.outputs", "GangaMonitoring.integration.postprocess_files"]
"""What the fork server imports once, before it forks workers: the Ganga-free modules workers run, after
``worker_boot``, which keeps workers from running the parent's main script."""


def _worker_context() -> multiprocessing.context.BaseContext:
    """Workers forked by a fork server that never imports the parent's ``__main__``.

    Why not fork: forking a process that runs threads (an event loop, pools,
    Ganga's own) copies their locks in whatever state they are in.  Why not
    spawn: a spawned child runs the parent's ``__main__`` script, and the
    ``ganga`` executable has no ``if __name__ == "__main__"`` guard, so the
    worker would start a second Ganga.  A fork server is a fresh single-threaded
    interpreter that forks the workers; it never preloads the parent's main
    script (``"__main__"`` is not among its preloads), and its first preload,
    ``worker_boot``, keeps the workers it forks from running it.  Nothing of the
    parent's process (its ``__main__`` above all, which the prompt uses) is
    touched to launch a worker.  The preload list is the fork server's,
    process-wide: set before this package's first worker starts it.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_PRELOAD)
    return context


WORKER_LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s (worker process %(process)d): %(message)s"


def start_worker(log_file: str | None, level: int, niceness: int) -> None:
    """A worker process's start: ``niceness`` steps nicer than its parent, logging into ``log_file``."""
    if niceness:
        with contextlib.suppress(OSError):  # a platform without nice: the worker runs as the session
            os.nice(niceness)
    log_to_file(log_file, level)


def log_to_file(path: str | None, level: int) -> None:
    """In a worker process: ``GangaMonitoring.*`` records go to ``path`` (Ganga's log), appended under a lock."""
    if not path:
        return
    from concurrent_log_handler import ConcurrentRotatingFileHandler

    handler = ConcurrentRotatingFileHandler(path, mode="a", maxBytes=0, backupCount=0)  # Ganga owns rotation
    handler.setFormatter(logging.Formatter(WORKER_LOG_FORMAT))
    logger = logging.getLogger("GangaMonitoring")
    logger.addHandler(handler)
    logger.setLevel(level)


def _describe(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)
