"""Adaptive per-backend concurrency: AIMD on the latency of each unit of work.

How many operations of one backend may run at once in one pool is, by
default, not configured but found: the limit of each (backend, pool) rises
by one while the service keeps its latency, and is cut when it stops
keeping it, as TCP's congestion window finds a path's capacity.  The
latency says how many requests the service seems to *queue* (TCP Vegas's
estimate): with ``limit`` operations in flight, a median latency per unit
of ``median`` against its best, ``baseline``, means about
``queued = limit x (1 - baseline / median)`` wait at the service::

    one window = max(MIN_WINDOW, limit) operations finished
      queued < QUEUE_LOW, and the limit was reached in the window  ──► limit + 1
                                                   (in slow start: limit x 2)
      queued > queue_high (the setting)                             ──► limit x LATENCY_CUT
      otherwise                                                     ──► limit (it is about right)
    a service error (5xx, timeout, outage) ─────────────────────────► limit x ERROR_CUT
                                                                      (at most once a window)

For a service that serves ``c`` requests at once, ``queued`` is
``limit - c`` once ``limit > c``: the limit settles one or two above the
service's capacity, so the service is never idle for want of a request.
The limit stays within ``[minimum, maximum]`` (``maximum`` is the pool's
size).  The *baseline* is the lowest of the last ``BASELINE_WINDOWS`` window
medians kept: every window in which the limit was not reached is kept
(few requests in flight: the service at its best), a window that reached
it only when it beats the baseline.  So a service that became slower for
good becomes the new normal once the load lets it be measured, and a
steady backlog never lets the baseline creep up with the queue it causes.  Latency is measured
*per unit*: an operation reports how many requests it made
(``Operation.units``; an update of 100 jobs that retrieved 7 outputs made
about 8), so operations of different sizes are compared fairly; an
operation with ``units == 0`` (a fan-out parent, whose children are
measured) is no sample, and only polls and retrievals are (``SAMPLED_KINDS``).

A limit is raised only when it was reached during the window: a limit that
nothing pressed against says nothing about the service.

*Slow start* (TCP's): until the first window that shows queueing
(``queued >= QUEUE_LOW``) or the first cut, a raise doubles the limit
instead of adding one, so a burst finds a service's capacity ``c`` in
``log2(c / initial)`` windows, not ``c - initial``; a window is ``limit``
operations, which in a burst of long updates is seconds each.  Overshooting
costs one window: a doubled limit past the capacity shows about
``limit - c`` queued and is cut by a quarter.

Pure: every method takes ``now`` (or nothing); the scheduler owns one
:class:`ConcurrencyLimits` and feeds it the operations it starts and ends.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field
from collections.abc import Callable

from .retry import Fault
from .work import Kind, Operation

SAMPLED_KINDS = frozenset({Kind.POLL, Kind.RETRIEVE})
"""Kinds of work that talk to the backend's service: only their latency says how the service fares
(a master's roll-up or a policy check runs in Ganga alone, in microseconds)."""

FixedLimit = Callable[[str, str], "int | None"]
"""(backend, pool) -> a configured limit for that backend (None: adaptive)."""

MIN_WINDOW = 4
"""Operations a window holds at least, so one slow operation cannot cut a small limit."""
QUEUE_LOW = 1.0
"""Below this many requests queued at the service, the limit may rise."""
LATENCY_CUT = 0.75
"""A window whose latency says the service queues too much keeps three quarters of the limit."""
ERROR_CUT = 0.5
"""A service error halves the limit."""
BASELINE_WINDOWS = 100


@dataclass(frozen=True)
class AdaptiveSettings:
    """Read at each decision, so a changed option applies at once."""

    enabled: bool = True
    initial: int = 4
    maximum: int = 10
    minimum: int = 1
    queue_high: float = 4.0
    """Requests the service may seem to queue (from the latency's growth) before the limit is cut."""


@dataclass
class AdaptiveLimit:
    """The limit of one backend in one pool, and why it is what it is (printable)."""

    backend: str
    pool: str
    limit: int
    baseline: float | None = None
    """Seconds per unit at the service's best (see the module's docstring)."""
    medians: deque[float] = field(default_factory=lambda: deque(maxlen=BASELINE_WINDOWS))
    last_median: float | None = None
    last_queued: float | None = None
    window: list[float] = field(default_factory=list)
    reached: bool = False
    """The limit was reached (all its slots taken) since the window began."""
    last_cut_at: float | None = None
    raises: int = 0
    cuts: int = 0
    reason: str = "initial"
    changed_at: float | None = None
    slow_start: bool = True
    """Raises double the limit: no window has shown queueing yet, and nothing was cut."""

    def window_size(self) -> int:
        return max(MIN_WINDOW, self.limit)

    def sample(self, per_unit: float, now: float, settings: AdaptiveSettings) -> None:
        """One operation finished without a service error, at ``per_unit`` seconds per unit."""
        self.window.append(per_unit)
        if len(self.window) < self.window_size():
            return
        median = statistics.median(self.window)
        self.window.clear()
        reached, self.reached = self.reached, False
        if not reached or self.baseline is None or median < self.baseline:
            self.medians.append(median)
        self.last_median = median
        self.baseline = min(self.medians)
        queued = self.last_queued = self.limit * (1.0 - self.baseline / median) if median > 0 else 0.0
        figures = f"{_ms(median)} per unit, best {_ms(self.baseline)}: about {queued:.1f} queued"
        if queued > settings.queue_high and self.limit > settings.minimum:
            self._cut(max(settings.minimum, math.floor(self.limit * LATENCY_CUT)), now,
                      f"latency grew ({figures})")
        elif queued < QUEUE_LOW and reached and self.limit < settings.maximum:
            self.limit = min(settings.maximum, 2 * self.limit if self.slow_start else self.limit + 1)
            self.raises += 1
            self.changed_at = now
            start = ", slow start" if self.slow_start else ""
            self.reason = f"raised to {self.limit}{start}: latency holds ({figures})"
        if queued >= QUEUE_LOW:
            self.slow_start = False

    def service_error(self, error: str, started_at: float, now: float, settings: AdaptiveSettings) -> None:
        """An operation that started at ``started_at`` failed because the service is unwell: halve.

        Operations that started before the last cut end after it; their
        errors say nothing new (the cut already answered them), so they cut
        nothing: one outage is one cut, as TCP cuts once per round trip.
        """
        self.window.clear()
        self.reached = False
        if self.last_cut_at is not None and started_at < self.last_cut_at:
            return
        if self.limit > settings.minimum:
            self._cut(max(settings.minimum, math.floor(self.limit * ERROR_CUT)), now,
                      f"service error: {error[:120]}")

    def _cut(self, limit: int, now: float, why: str) -> None:
        self.slow_start = False
        self.limit = limit
        self.cuts += 1
        self.last_cut_at = now
        self.changed_at = now
        self.reason = f"cut to {limit}: {why}"

    def describe(self, now: float) -> str:
        when = "" if self.changed_at is None else f", {now - self.changed_at:.0f} s ago"
        return f"{self.limit} (adaptive; {self.reason}{when})"


@dataclass(frozen=True)
class LimitStatistics:
    """One (backend, pool) limit, as ``queues`` shows it."""

    backend: str
    pool: str
    limit: int
    adaptive: bool
    reason: str
    raises: int = 0
    cuts: int = 0
    baseline_ms: float | None = None
    last_median_ms: float | None = None


class ConcurrencyLimits:
    """Every backend's limit in every pool: configured (fixed) or adaptive."""

    def __init__(self, fixed: FixedLimit,
                 settings: Callable[[str], AdaptiveSettings] = lambda _pool: AdaptiveSettings()) -> None:
        """``settings(pool)``: the adaptive settings of a pool (its maximum is the pool's size)."""
        self._fixed = fixed
        self._settings = settings
        self.adaptive: dict[tuple[str, str], AdaptiveLimit] = {}
        self._fixed_used: set[tuple[str, str]] = set()
        """(backend, pool) pairs with a configured limit that talked to their service (for display)."""

    def limit(self, backend: str, pool: str) -> int | None:
        """How many of ``backend``'s operations may run at once in ``pool`` now (None: no limit)."""
        fixed = self._fixed(backend, pool)
        if fixed is not None:
            return fixed
        settings = self._settings(pool)
        if not settings.enabled:
            return None
        return self._adaptive(backend, pool, settings).limit

    def _adaptive(self, backend: str, pool: str, settings: AdaptiveSettings) -> AdaptiveLimit:
        entry = self.adaptive.get((backend, pool))
        if entry is None:
            initial = min(settings.maximum, max(settings.minimum, settings.initial))
            entry = self.adaptive[backend, pool] = AdaptiveLimit(backend, pool, initial)
        else:  # the settings may have changed (a pool resized, an option set at the prompt)
            entry.limit = min(settings.maximum, max(settings.minimum, entry.limit))
        return entry

    def _tracked(self, op: Operation) -> AdaptiveLimit | None:
        if op.backend is None:
            return None  # the session's own work: no backend to find a limit for
        if self._fixed(op.backend, op.pool) is not None:
            return None
        settings = self._settings(op.pool)
        return self._adaptive(op.backend, op.pool, settings) if settings.enabled else None

    def started(self, op: Operation, running: int) -> None:
        """``op`` started; ``running`` of its backend's operations now run in its pool."""
        if op.kind in SAMPLED_KINDS and op.backend is not None and self._fixed(op.backend, op.pool) is not None:
            self._fixed_used.add((op.backend, op.pool))
        entry = self._tracked(op)
        if entry is not None and running >= entry.limit:
            entry.reached = True

    def finished(self, op: Operation, now: float, fault: Fault | None, error: str = "") -> None:
        """``op`` ended (``fault``: None if it succeeded or failed for its own reasons only)."""
        entry = self._tracked(op)
        if entry is None or op.started_at is None:
            return
        settings = self._settings(op.pool)
        if op.kind not in SAMPLED_KINDS:
            return
        if fault is Fault.BACKEND:
            entry.service_error(error, op.started_at, now, settings)
        elif op.units > 0 and fault is None:
            entry.sample((now - op.started_at) / op.units, now, settings)

    def statistics(self) -> list[LimitStatistics]:
        """The limits of backends that talked to their service: adaptive ones measured, configured ones."""
        found = [LimitStatistics(e.backend, e.pool, e.limit, True, e.reason, e.raises, e.cuts,
                                 None if e.baseline is None else 1000 * e.baseline,
                                 None if e.last_median is None else 1000 * e.last_median)
                 for e in self.adaptive.values() if e.baseline is not None or e.cuts]
        for backend, pool in self._fixed_used:
            fixed = self._fixed(backend, pool)
            if fixed is not None:
                found.append(LimitStatistics(backend, pool, fixed, False, "configured"))
        return sorted(found, key=lambda e: (e.backend, e.pool))


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:.0f} ms"
