"""The active-job index: which jobs need monitoring, by backend and state.

Stock Ganga rebuilt this knowledge every 2 s by scanning the whole registry
(O(N) jobs, each through a linear ``Registry.find``: O(N^2)).  Here it is
kept up to date from status changes (see ``patches``) and rebuilt
from the registry only at enable time and on a slow reconciliation timer.

Per backend and state the index keeps an insertion-ordered ``{job_id:
since}``; a job that changes state is re-inserted, so each dict is ordered
by ``since`` and the oldest/newest job of a state is found in O(1).  The
planner asks only O(1) questions per backend; a poll lists its jobs once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from collections.abc import Iterable

JobId = int

POLLED_STATES = frozenset({"submitted", "running"})
"""States in which a job is polled (as stock: ``submitted`` and ``running``)."""
SUBMISSION_STATES = frozenset({"submitting", "submitted"})
"""A split master's states while Ganga submits its subjobs (it flips between them on most backends)."""
FINALISING_STATES = frozenset({"completing"})
"""States in which a job is done on the backend but not yet final in Ganga."""
TRACKED_STATES = POLLED_STATES | FINALISING_STATES


@dataclass(frozen=True)
class TrackedJob:
    job_id: JobId
    backend: str
    status: str
    since: float


@dataclass(frozen=True)
class BackendJobCounts:
    """How many jobs of one backend are in each tracked state."""

    backend: str
    counts: dict[str, int]
    oldest_since: dict[str, float]


class ActiveJobIndex:
    """Thread-safe index of the jobs in :data:`TRACKED_STATES`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_backend: dict[str, dict[str, dict[JobId, float]]] = {}
        self._where: dict[JobId, tuple[str, str]] = {}
        self.version = 0

    def update(self, job_id: JobId, backend: str, status: str, now: float) -> bool:
        """Record that ``job_id`` is now in ``status``; True if the index changed."""
        with self._lock:
            where = self._where.get(job_id)
            if where == (backend, status):
                return False
            if where is not None:
                self._drop(job_id, where)
            if status in TRACKED_STATES:
                self._by_backend.setdefault(backend, {}).setdefault(status, {})[job_id] = now
                self._where[job_id] = (backend, status)
            elif where is None:
                return False
            self.version += 1
            return True

    def discard(self, job_id: JobId) -> bool:
        with self._lock:
            where = self._where.get(job_id)
            if where is None:
                return False
            self._drop(job_id, where)
            self.version += 1
            return True

    def _drop(self, job_id: JobId, where: tuple[str, str]) -> None:
        backend, status = where
        del self._where[job_id]
        states = self._by_backend[backend]
        del states[status][job_id]
        if not states[status]:
            del states[status]
        if not states:
            del self._by_backend[backend]

    def replace_all(self, entries: Iterable[tuple[JobId, str, str]], started: float) -> int:
        """Reconcile with a full listing ``(job_id, backend, status)`` read from ``started`` on.

        Jobs whose state is unchanged keep their ``since``; jobs missing from
        the listing are dropped.  An entry the status listener changed after
        ``started`` is newer than the listing (the scan may have read the job
        before that change, or before it existed): it is left as it is, not
        overwritten with the older state nor dropped.  Returns how many
        entries changed.
        """
        listed: set[JobId] = set()
        changed = 0
        for job_id, backend, status in entries:
            if status in TRACKED_STATES:
                listed.add(job_id)
            if self._changed_after(job_id, started):
                continue
            changed += self.update(job_id, backend, status, started)
        with self._lock:
            stale = [job_id for job_id, (backend, status) in self._where.items()
                     if job_id not in listed and self._by_backend[backend][status][job_id] <= started]
        for job_id in stale:
            changed += self.discard(job_id)
        return changed

    def _changed_after(self, job_id: JobId, when: float) -> bool:
        with self._lock:
            where = self._where.get(job_id)
            return where is not None and self._by_backend[where[0]][where[1]][job_id] > when

    # -- questions ---------------------------------------------------------------

    def backends(self) -> list[str]:
        with self._lock:
            return list(self._by_backend)

    def polled_backends(self) -> list[str]:
        with self._lock:
            return [b for b, states in self._by_backend.items() if POLLED_STATES & states.keys()]

    def get(self, job_id: JobId) -> TrackedJob | None:
        with self._lock:
            where = self._where.get(job_id)
            if where is None:
                return None
            backend, status = where
            return TrackedJob(job_id, backend, status, self._by_backend[backend][status][job_id])

    def entries(self) -> list[TrackedJob]:
        """Every tracked job (a copy: the index may change after)."""
        with self._lock:
            return [TrackedJob(j, backend, status, since)
                    for backend, states in self._by_backend.items()
                    for status, jobs in states.items() for j, since in jobs.items()]

    def jobs(self, backend: str, status: str) -> list[TrackedJob]:
        with self._lock:
            return [TrackedJob(j, backend, status, since)
                    for j, since in self._by_backend.get(backend, {}).get(status, {}).items()]

    def oldest_since(self, backend: str, status: str) -> float | None:
        with self._lock:
            jobs = self._by_backend.get(backend, {}).get(status)
            return next(iter(jobs.values())) if jobs else None

    def newest_since(self, backend: str, status: str) -> float | None:
        with self._lock:
            jobs = self._by_backend.get(backend, {}).get(status)
            return next(reversed(jobs.values())) if jobs else None

    def count(self, backend: str, status: str) -> int:
        with self._lock:
            return len(self._by_backend.get(backend, {}).get(status, ()))

    def counts(self) -> list[BackendJobCounts]:
        with self._lock:
            return [
                BackendJobCounts(backend, {s: len(j) for s, j in states.items()},
                                 {s: next(iter(j.values())) for s, j in states.items()})
                for backend, states in self._by_backend.items()
            ]

    def __len__(self) -> int:
        with self._lock:
            return len(self._where)

    def __repr__(self) -> str:
        return "<ActiveJobIndex " + ", ".join(
            f"{c.backend}: {c.counts}" for c in self.counts()) + ">"
