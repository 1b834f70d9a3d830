"""How many times monitoring called a backend's own update, and why: the compatibility path's cost.

A backend without a native driver is asked for its jobs' states only
through its ``updateMonitoringInformation`` (one call: one or more status
requests to its service, by the backend's own batching).  Each call is
counted under its *cause*, the ``OpKey.what`` of the work it was made for:
a periodic poll (``poll``, ``poll-queued``), the early poll of newly
submitted jobs (``poll-new``), a file event (``file-event-poll``), a user's
request (``poll-jobs``, ``call``); ``other`` for a call outside any of them.

Thread-safe; Ganga-free.  Counts only grow (a session's totals).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

OTHER = "other"


@dataclass(frozen=True)
class UpdateCallCount:
    """The calls of one backend's update made for one cause, and the jobs they carried (summed)."""

    backend: str
    cause: str
    calls: int
    jobs: int


class UpdateCalls:
    """Counts update calls per (backend, cause)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], tuple[int, int]] = {}

    def note(self, backend: str, cause: str, jobs: int) -> None:
        """One call of ``backend``'s update, for ``cause``, with ``jobs`` jobs."""
        with self._lock:
            calls, carried = self._counts.get((backend, cause), (0, 0))
            self._counts[(backend, cause)] = (calls + 1, carried + jobs)

    def statistics(self) -> list[UpdateCallCount]:
        """Every (backend, cause) counted so far, by backend then cause."""
        with self._lock:
            counts = dict(self._counts)
        return [UpdateCallCount(backend, cause, calls, jobs)
                for (backend, cause), (calls, jobs) in sorted(counts.items())]
