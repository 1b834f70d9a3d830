"""A thread pool of daemon threads that lives until its owner shuts it down.

``concurrent.futures.ThreadPoolExecutor`` joins its (non-daemon) threads when
the interpreter starts to exit, before ``atexit`` runs, and from then on refuses
new work.  Ganga stops monitoring and flushes its repositories from ``atexit``,
later: with the standard pool, monitoring work would be refused (and counted as
failures) between the two, and a call that never returns would keep the process
from exiting at all.  This pool's threads are daemons, it takes work until
:meth:`DaemonThreadPool.shutdown`, and its owner decides how long to wait for
what runs (``core/draining.py``); a thread still busy when the process ends is
ended with it.

Contract (that of ``concurrent.futures.Executor``): ``submit`` returns a
``Future``; work is run first in, first out by at most ``max_workers`` threads,
started lazily (one more only when no thread is idle); after ``shutdown`` no
work is taken (``RuntimeError``), queued work is cancelled if asked, running
work goes on.
"""

from __future__ import annotations

import itertools
import queue
import threading
from concurrent.futures import Executor, Future
from typing import Any
from collections.abc import Callable

_Item = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class DaemonThreadPool(Executor):
    """At most ``max_workers`` daemon threads named ``<prefix>_<n>``."""

    def __init__(self, max_workers: int, thread_name_prefix: str) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._max_workers = max_workers
        self._prefix = thread_name_prefix
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._numbers = itertools.count()
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new work after shutdown")
            future: Future[Any] = Future()
            self._queue.put((future, fn, args, kwargs))
            if not self._idle.acquire(blocking=False) and len(self._threads) < self._max_workers:
                thread = threading.Thread(target=self._work, name=f"{self._prefix}_{next(self._numbers)}",
                                          daemon=True)
                self._threads.append(thread)
                thread.start()
        return future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:  # shutdown: pass the word on to the next thread
                self._queue.put(None)
                return
            future, fn, args, kwargs = item
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as error:  # noqa: BLE001 - the future carries every failure
                    future.set_exception(error)
                else:
                    future.set_result(result)
                del future, fn, args, kwargs, item
            self._idle.release()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is not None:
                        item[0].cancel()
            self._queue.put(None)
            threads = list(self._threads)
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()

    @property
    def threads(self) -> int:
        """Threads started so far (never more than ``max_workers``)."""
        return len(self._threads)

    def __repr__(self) -> str:
        return f"<DaemonThreadPool {self._prefix} {len(self._threads)}/{self._max_workers} threads>"
