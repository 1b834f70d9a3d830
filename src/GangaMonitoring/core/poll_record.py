"""How the polls of one backend went: the record ``queues`` and the prompt's notice read."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field


@dataclass
class BackendPollRecord:
    """How the polls of one backend went (for ``queues``): times on the component's clock.

    Polls of one backend may end at once (periodic, requested): written and
    read (:meth:`copy`) under its lock.
    """

    backend: str
    polls: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_started: float | None = None
    last_duration: float | None = None
    last_jobs: int = 0
    last_error: str | None = None
    last_ok_started: float | None = None
    """When the last poll that succeeded began (a failed poll looked at nothing)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def finished(self, started: float, ended: float, jobs: int, error: str | None) -> None:
        with self._lock:
            self.polls += 1
            self.last_started, self.last_duration, self.last_jobs = started, ended - started, jobs
            if error is None:
                self.consecutive_failures = 0
                self.last_ok_started = started
            else:
                self.failures += 1
                self.consecutive_failures += 1
                self.last_error = error

    def copy(self) -> BackendPollRecord:
        """A consistent copy (no poll half recorded), for a reader in another thread."""
        with self._lock:
            return dataclasses.replace(self)  # every field but the lock (a new one)
