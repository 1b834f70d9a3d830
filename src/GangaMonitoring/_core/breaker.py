"""Per-backend circuit breakers: stop hammering a backend that keeps failing.

When a backend's service is down, every poll and every output download
fails; retrying each of them on its own backoff still sends a steady storm
of requests (and of log lines).  A breaker counts the consecutive failures
*of the backend* — errors that say the service itself is unwell, not that
one job is bad — and after ``failures_to_open`` of them it opens: the
scheduler starts none of that backend's polls or downloads (they wait,
losing no attempt), except one probe at growing intervals.  The probe's
success closes the breaker and everything waiting runs; its failure opens
it again for twice as long, up to ``max_probe_interval``.

Finalisation (local CPU work) and other backends are never held.  Work a
user asked for is let through even when the breaker is open: someone is
waiting for it, and its outcome counts as a probe.

Pure: every method takes ``now``; the scheduler owns the board and asks
:meth:`BreakerBoard.admits` before starting an operation.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from collections.abc import Callable

from .work import Kind, Operation, PriorityClass

GUARDED_KINDS = frozenset({Kind.POLL, Kind.RETRIEVE})
"""Kinds of work that talk to the backend's service, and so are held while it is down."""


class BreakerState(enum.Enum):
    CLOSED = "closed"
    """All is well: work runs."""
    OPEN = "open"
    """The backend is failing: its guarded work waits for the next probe."""
    PROBING = "probing"
    """One operation runs to test the backend; the rest still wait."""


@dataclass(frozen=True)
class BreakerSettings:
    failures_to_open: int = 5
    first_probe_after: float = 10.0
    max_probe_interval: float = 300.0


@dataclass
class Breaker:
    """The breaker of one backend (its state can be printed: ``queues`` shows it)."""

    backend: str
    state: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    trips: int = 0
    probe_interval: float = 0.0
    probe_at: float | None = None
    opened_at: float | None = None
    last_error: str = ""

    def describe(self, now: float) -> str:
        if self.state is BreakerState.CLOSED:
            return "closed"
        opened = now if self.opened_at is None else self.opened_at
        since = f"open for {now - opened:.0f} s"
        if self.state is BreakerState.PROBING:
            return f"{since}, probing now"
        probe = now if self.probe_at is None else self.probe_at
        return f"{since}, next probe in {max(0.0, probe - now):.0f} s"


@dataclass
class BreakerBoard:
    """The breakers of all backends, created on first use."""

    settings: Callable[[], BreakerSettings] = BreakerSettings
    breakers: dict[str, Breaker] = field(default_factory=dict)

    def _breaker(self, backend: str) -> Breaker:
        breaker = self.breakers.get(backend)
        if breaker is None:
            breaker = self.breakers[backend] = Breaker(backend)
        return breaker

    def admits(self, op: Operation, now: float) -> bool:
        """May ``op`` start now?  (True for anything the breaker does not guard.)"""
        breaker = self.breakers.get(op.backend)
        if breaker is None or breaker.state is BreakerState.CLOSED or op.kind not in GUARDED_KINDS:
            return True
        if op.priority is PriorityClass.USER:
            return True
        return breaker.state is BreakerState.OPEN and breaker.probe_at is not None and now >= breaker.probe_at

    def started(self, op: Operation, now: float) -> None:
        """``op`` started; if its backend's breaker is open, it is the probe."""
        breaker = self.breakers.get(op.backend)
        if breaker is not None and breaker.state is BreakerState.OPEN and op.kind in GUARDED_KINDS:
            breaker.state = BreakerState.PROBING

    def succeeded(self, op: Operation, now: float) -> None:
        if op.kind not in GUARDED_KINDS:
            return
        breaker = self.breakers.get(op.backend)
        if breaker is not None:
            breaker.consecutive_failures = 0
            breaker.state, breaker.probe_at, breaker.opened_at = BreakerState.CLOSED, None, None
            breaker.probe_interval = 0.0

    def failed(self, op: Operation, now: float, error: str, backend_fault: bool) -> None:
        """``op`` failed; ``backend_fault`` says whether the error is the service's, not the job's."""
        if op.kind not in GUARDED_KINDS:
            return
        breaker = self._breaker(op.backend)
        if not backend_fault:
            if breaker.state is BreakerState.PROBING:  # the service answered: it is up
                self.succeeded(op, now)
            return
        breaker.consecutive_failures += 1
        breaker.last_error = error
        settings = self.settings()
        if breaker.state is BreakerState.CLOSED and breaker.consecutive_failures >= settings.failures_to_open:
            breaker.trips += 1
            breaker.opened_at = now
            breaker.probe_interval = settings.first_probe_after
        elif breaker.state is not BreakerState.CLOSED:
            breaker.probe_interval = min(breaker.probe_interval * 2, settings.max_probe_interval)
        else:
            return
        breaker.state = BreakerState.OPEN
        breaker.probe_at = now + breaker.probe_interval

    def next_probe_at(self) -> float | None:
        """The earliest time an open breaker lets a probe through (for the dispatcher's sleep)."""
        times = [b.probe_at for b in self.breakers.values()
                 if b.state is BreakerState.OPEN and b.probe_at is not None]
        return min(times, default=None)

    def reason(self, op: Operation, now: float) -> str | None:
        """Why ``op`` is held by a breaker, or None if it is not."""
        if self.admits(op, now):
            return None
        return f"backend {op.backend} is failing (breaker {self.breakers[op.backend].describe(now)})"

    def state_of(self, backend: str) -> BreakerState:
        breaker = self.breakers.get(backend)
        return BreakerState.CLOSED if breaker is None else breaker.state

    def describe(self, backend: str, now: float) -> str:
        breaker = self.breakers.get(backend)
        return "closed" if breaker is None else breaker.describe(now)
