"""Jobs whose files changed, gathered per backend until the poll that reads them runs.

A file event names one job; the poll it asks for is one operation per
backend (``OpKey.file_event_poll``), due ``window`` seconds after the first
event of a batch.  Events arriving before it runs join it: the scheduler
merges the request into the pending operation (one key, one operation), and
the operation's action takes every job gathered so far (:meth:`take`).  An
event arriving while the poll runs asks once more, and the scheduler runs
the key again after (its rule for a request during a run), so no event is
lost and none polls twice.

Jobs a poll could not look at yet (their ``submit()`` still runs: polls
leave them to Ganga until it returns) wait under their top-level job until
:meth:`release`.

Invariant: a job is gathered at most once per backend (a set); every method
takes the object's lock, so events from the watcher's thread and takes from
a pool thread interleave safely.  Pure: no clock read, no thread started.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .work import JobKey, Kind, Operation, OpKey, PriorityClass


class ChangedJobs:
    """Jobs whose status files changed, per backend (see the module's contract)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed: dict[str, set[JobKey]] = {}
        self._deferred: dict[int, dict[str, set[JobKey]]] = {}

    def add(self, backend: str, keys: set[JobKey]) -> None:
        with self._lock:
            self._changed.setdefault(backend, set()).update(keys)

    def take(self, backend: str) -> set[JobKey]:
        """Every job gathered for ``backend`` since the last take (then none is)."""
        with self._lock:
            return self._changed.pop(backend, set())

    def defer(self, backend: str, keys: set[JobKey]) -> None:
        """``keys`` cannot be polled before their top-level job's submission ends: kept until :meth:`release`."""
        with self._lock:
            for key in keys:
                self._deferred.setdefault(key.top, {}).setdefault(backend, set()).add(key)

    def release(self, top: int) -> dict[str, set[JobKey]]:
        """The submission of job ``top`` ended: its deferred jobs are gathered again; returns them per backend."""
        with self._lock:
            released = self._deferred.pop(top, {})
            for backend, keys in released.items():
                self._changed.setdefault(backend, set()).update(keys)
            return released

    def pending(self) -> int:
        """Jobs gathered or deferred, for statistics."""
        with self._lock:
            return (sum(len(k) for k in self._changed.values())
                    + sum(len(k) for by in self._deferred.values() for k in by.values()))


def file_event_poll(backend: str, keys: set[JobKey], now: float, window: float,
                    action: Callable[[Operation], None]) -> Operation:
    """The request a batch of file events makes: a poll of those jobs, ``window`` s from ``now``.

    Finalisation-class priority (ahead of periodic polls, as a finished job's
    own work); merged with a pending one by its key, one per backend.
    """
    return Operation(key=OpKey.file_event_poll(backend), kind=Kind.POLL, backend=backend,
                     priority=PriorityClass.FINALISE, due=now + window, action=action,
                     job_ids={key.top for key in keys},
                     description=f"poll of {backend} jobs whose status file changed")
