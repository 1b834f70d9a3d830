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

A full local disk has a breaker of its own, shared by every backend: the
first ``ENOSPC`` pauses every retrieval and finalisation (one message, not
one per job) and a probe retries one of them at growing intervals.

A check can also *hold* a breaker (the free-space check holds the disk's,
the credential check a backend's credential breaker): a held breaker lets
no probe through and is closed only by the check's :meth:`BreakerBoard.release`,
never by some operation that happened to succeed meanwhile.

Finalisation is never held for a backend's outage, nor are other backends.
A fan-out child (``Operation.parent``) is part of its parent's attempt: the
parent poll is what a breaker admits, probes with and counts.  Work a
user asked for is let through even when the breaker is open: someone is
waiting for it, and its outcome counts as a probe.

Pure: every method takes ``now``; the scheduler owns the board and asks
:meth:`BreakerBoard.admits` before starting an operation.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from collections.abc import Callable

from .retry import Fault
from .work import Kind, Operation, PriorityClass

BACKEND_GUARDED = frozenset({Kind.POLL, Kind.RETRIEVE})
"""Kinds of work that talk to the backend's service, and so are held while it is down."""

DISK_GUARDED = frozenset({Kind.RETRIEVE, Kind.FINALISE})
"""Kinds of work that write outputs, and so are held while the local disk is full."""

LOCAL_DISK = "(local disk)"
"""The name of the disk breaker (one for all backends)."""


CREDENTIAL_SUFFIX = " (credential)"


def credential_breaker(backend: str) -> str:
    """The name of the breaker the credential check holds while ``backend``'s jobs lack their credential.

    Apart from the backend's own breaker, so that failures and probes of the
    service and the state of the credential never close each other.
    """
    return backend + CREDENTIAL_SUFFIX


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
    max_probe_interval: float = 120.0


@dataclass
class Breaker:
    """One breaker: a backend's, a backend's credential's or the local disk's (it prints: ``queues`` shows it)."""

    name: str
    """The backend's name, ``credential_breaker(backend)`` or ``LOCAL_DISK``."""
    state: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    trips: int = 0
    probe_interval: float = 0.0
    probe_at: float | None = None
    opened_at: float | None = None
    last_error: str = ""
    held: bool = False
    """Opened by a check (:meth:`BreakerBoard.hold`): only :meth:`BreakerBoard.release` closes it."""

    def close(self) -> None:
        if self.held:
            return
        self.consecutive_failures = 0
        self.state, self.probe_at, self.opened_at, self.probe_interval = BreakerState.CLOSED, None, None, 0.0

    def record_failure(self, now: float, error: str, failures_to_open: int, settings: BreakerSettings) -> None:
        """Count a failure; open at ``failures_to_open`` in a row, or reopen for longer after a failed probe."""
        self.consecutive_failures += 1
        if self.held:
            return  # its check's reason stands, and so does the hold
        self.last_error = error
        if self.state is BreakerState.OPEN:
            return  # work that started before it opened, failing too: the probe time stands
        if self.state is BreakerState.CLOSED:
            if self.consecutive_failures < failures_to_open:
                return
            self.trips += 1
            self.opened_at = now
            self.probe_interval = settings.first_probe_after
        else:  # the probe failed: wait twice as long for the next one
            self.probe_interval = min(self.probe_interval * 2, settings.max_probe_interval)
        self.state = BreakerState.OPEN
        self.probe_at = now + self.probe_interval

    def open_for(self, now: float) -> float:
        return 0.0 if self.opened_at is None else now - self.opened_at

    def snapshot(self, now: float) -> BreakerSnapshot:
        """Its state at ``now``, as data with ages instead of clock readings."""
        closed = self.state is BreakerState.CLOSED
        return BreakerSnapshot(
            name=self.name, state=self.state.value, held=self.held and not closed,
            open_for=None if closed else self.open_for(now),
            next_probe_in=None if closed or self.probe_at is None or self.held else max(0.0, self.probe_at - now),
            consecutive_failures=self.consecutive_failures, trips=self.trips,
            last_error=None if closed else self.last_error)

    def describe(self, now: float) -> str:
        return self.snapshot(now).describe()


@dataclass(frozen=True)
class BreakerSnapshot:
    """One breaker at one moment (``queues``, the status file): plain data, no clock readings."""

    name: str
    """The backend, the local disk (:data:`LOCAL_DISK`) or a backend's credential (:func:`credential_breaker`)."""
    state: str
    """A :class:`BreakerState` value: "closed", "open" or "probing"."""
    held: bool
    """Opened by a check (full disk, missing credential): ``last_error`` is the check's reason."""
    open_for: float | None
    """Seconds since it opened (None: closed)."""
    next_probe_in: float | None
    """Seconds until the next probe (None: closed, probing now, or held)."""
    consecutive_failures: int
    trips: int
    last_error: str | None

    def describe(self) -> str:
        """One phrase: "closed", "open for 40 s, next probe in 20 s", "held for 5 s: <reason>"..."""
        if self.state == BreakerState.CLOSED.value:
            return "closed"
        since = f"open for {self.open_for or 0.0:.0f} s"
        if self.held:
            return f"held for {self.open_for or 0.0:.0f} s: {self.last_error}"
        if self.state == BreakerState.PROBING.value:
            return f"{since}, probing now"
        if self.next_probe_in is None:
            return f"{since}: {self.last_error}"
        return f"{since}, next probe in {self.next_probe_in:.0f} s"


@dataclass
class BreakerBoard:
    """The breakers of all backends (created on first failure) and the local disk's."""

    settings: Callable[[], BreakerSettings] = BreakerSettings
    breakers: dict[str, Breaker] = field(default_factory=dict)

    def _applicable(self, op: Operation) -> list[Breaker]:
        if op.parent is not None:
            return []  # part of its parent's attempt, which the breakers admitted and count
        found = []
        if op.kind in BACKEND_GUARDED and op.backend is not None:
            for name in (op.backend, credential_breaker(op.backend)):
                breaker = self.breakers.get(name)
                if breaker is not None:
                    found.append(breaker)
        disk = self.breakers.get(LOCAL_DISK)
        if disk is not None and op.kind in DISK_GUARDED:
            found.append(disk)
        return found

    def admits(self, op: Operation, now: float) -> bool:
        """May ``op`` start now?  (True for anything no open breaker guards.)"""
        return self._holding(op, now) is None

    def _holding(self, op: Operation, now: float) -> Breaker | None:
        if op.priority is PriorityClass.USER:
            return None  # someone waits for it: it goes, and counts as a probe
        for breaker in self._applicable(op):
            if breaker.state is BreakerState.PROBING:
                return breaker
            if breaker.state is BreakerState.OPEN and (breaker.probe_at is None or now < breaker.probe_at):
                return breaker
        return None

    def started(self, op: Operation, now: float) -> None:
        """``op`` started; for an open breaker that guards it, it is the probe."""
        for breaker in self._applicable(op):
            if breaker.state is BreakerState.OPEN and not breaker.held:
                breaker.state = BreakerState.PROBING

    def succeeded(self, op: Operation, now: float) -> None:
        for breaker in self._applicable(op):
            breaker.close()

    def failed(self, op: Operation, now: float, error: str, fault: Fault) -> None:
        """``op`` failed; ``fault`` says whose fault: the job's, the backend service's or the disk's."""
        if op.parent is not None:
            return  # its parent's outcome is what counts
        name = {Fault.DISK: LOCAL_DISK, Fault.BACKEND: op.backend}.get(fault)
        for applicable in self._applicable(op):
            if applicable.name != name:
                applicable.close()  # it got past that breaker's concern: the service answered, or the disk took it
        guarded = DISK_GUARDED if fault is Fault.DISK else BACKEND_GUARDED
        if name is None or op.kind not in guarded:
            return
        breaker = self.breakers.get(name)
        if breaker is None:
            breaker = self.breakers[name] = Breaker(name)
        settings = self.settings()
        breaker.record_failure(now, error, 1 if fault is Fault.DISK else settings.failures_to_open, settings)

    def hold(self, name: str, now: float, reason: str) -> bool:
        """Open breaker ``name`` with no probe: it stays open until :meth:`release` (a check decides).

        Returns whether it was closed before (the caller says so once).
        """
        breaker = self.breakers.get(name)
        if breaker is None:
            breaker = self.breakers[name] = Breaker(name)
        was_held = breaker.held
        if not was_held:
            breaker.trips += 1
            breaker.opened_at = now
        breaker.state, breaker.probe_at, breaker.last_error, breaker.held = BreakerState.OPEN, None, reason, True
        return not was_held

    def release(self, name: str) -> bool:
        """Close breaker ``name`` if it is open; returns whether it was."""
        breaker = self.breakers.get(name)
        if breaker is None or breaker.state is BreakerState.CLOSED:
            return False
        breaker.held = False
        breaker.close()
        return True

    def next_probe_at(self) -> float | None:
        """The earliest time an open breaker lets a probe through (for the dispatcher's sleep)."""
        times = [b.probe_at for b in self.breakers.values()
                 if b.state is BreakerState.OPEN and b.probe_at is not None]
        return min(times, default=None)

    def reason(self, op: Operation, now: float) -> str | None:
        """Why ``op`` is held by a breaker, or None if it is not."""
        breaker = self._holding(op, now)
        if breaker is None:
            return None
        if breaker.held:
            return f"{breaker.last_error} (for {breaker.open_for(now):.0f} s)"
        what = "the local disk is full" if breaker.name == LOCAL_DISK else f"backend {op.backend} is failing"
        return f"{what} (breaker {breaker.describe(now)})"

    def state_of(self, backend: str) -> BreakerState:
        breaker = self.breakers.get(backend)
        return BreakerState.CLOSED if breaker is None else breaker.state

    def describe(self, backend: str, now: float) -> str:
        breaker = self.breakers.get(backend)
        return "closed" if breaker is None else breaker.describe(now)
