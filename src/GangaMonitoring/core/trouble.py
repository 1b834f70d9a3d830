"""Jobs that fail on their own: one job's trouble is that job's, never its backend's.

A job the service no longer knows (a simulator restarted, a DIRAC job
deleted), or whose status cannot be read, fails every update of it while
its backend's other jobs are updated.  Such a job is isolated (bisection,
or the service naming it) and noted here; a job that is updated fine again
is forgotten.  A job that has kept failing on its own for the grace period
is given up: the component marks it ``failed`` with the reason.

Only failures seen while the service answered for other jobs are noted (a
service outage fails every job alike, and is its breaker's business).

Pure: times are passed in; the table is safe to share between threads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from collections.abc import Hashable, Iterable

MAX_TRACKED = 100_000
"""More troubled jobs than this and the oldest notes are dropped (they start over)."""


@dataclass(frozen=True)
class Trouble:
    """One job's run of failures."""

    since: float
    last_error: str
    failures: int


class TroubledJobs:
    """Which jobs fail on their own, since when, and why."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[Hashable, Trouble] = {}

    def note(self, key: Hashable, error: str, now: float) -> Trouble:
        """Record a failure of ``key``'s job alone; returns its run of failures so far."""
        with self._lock:
            previous = self._jobs.pop(key, None)
            trouble = Trouble(previous.since if previous else now, error, (previous.failures if previous else 0) + 1)
            self._jobs[key] = trouble  # newest last: the oldest go first when the table is full
            while len(self._jobs) > MAX_TRACKED:
                del self._jobs[next(iter(self._jobs))]
            return trouble

    def fine(self, keys: Iterable[Hashable]) -> None:
        """These jobs were updated: their runs of failures are over."""
        if not self._jobs:
            return
        with self._lock:
            for key in keys:
                self._jobs.pop(key, None)

    def forget(self, key: Hashable) -> Trouble | None:
        with self._lock:
            return self._jobs.pop(key, None)

    def get(self, key: Hashable) -> Trouble | None:
        with self._lock:
            return self._jobs.get(key)

    def items(self) -> list[tuple[Hashable, Trouble]]:
        """Every troubled job with its run of failures, oldest first (a copy)."""
        with self._lock:
            return list(self._jobs.items())

    def __len__(self) -> int:
        return len(self._jobs)

    def __repr__(self) -> str:
        return f"<TroubledJobs {len(self._jobs)}>"


class EndedReasons:
    """Why jobs ended (failed, killed) where a driver, not the backend's own update, found it.

    A process gone without an exit code, a batch system's word for a job
    cancelled outside Ganga: the backend's fields say nothing of it, so the
    reason is kept here for ``queues.why``.  The newest ``MAX_TRACKED`` are
    kept (a job ends once; its reason stays until the table is full).
    Thread-safe.
    """

    def __init__(self, limit: int = MAX_TRACKED) -> None:
        self._lock = threading.Lock()
        self._reasons: dict[Hashable, str] = {}
        self.limit = limit

    def put(self, key: Hashable, reason: str) -> None:
        with self._lock:
            self._reasons.pop(key, None)
            self._reasons[key] = reason  # newest last
            while len(self._reasons) > self.limit:
                del self._reasons[next(iter(self._reasons))]

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            return self._reasons.get(key)

    def __len__(self) -> int:
        return len(self._reasons)

    def __repr__(self) -> str:
        return f"<EndedReasons {len(self._reasons)}>"
