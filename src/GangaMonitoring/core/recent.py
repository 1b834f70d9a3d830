"""Counts of recent events, by key, over a sliding span of time.

``queues`` says what happened in the last minutes (polls, downloads, their
retries and failures, errors a client retried on its own), not since the
session began: a backend that failed a hundred times yesterday and is fine
now must read fine.  Events fall into buckets of ``bucket`` seconds; the
counts cover the buckets of the last ``span`` seconds, so an event is
counted for at least ``span - bucket`` and at most ``span`` seconds.

Invariants: memory is bounded by ``span / bucket`` buckets of at most one
counter entry per key; a bucket older than ``span`` is dropped at the next
``add`` or ``totals``.  Pure and unsynchronised: every method takes ``now``;
the owner serialises calls (the scheduler's lock).
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from collections.abc import Hashable


@dataclass
class RecentCounts:
    """Events per key over the last ``span`` seconds (see the module's docstring)."""

    span: float = 300.0
    bucket: float = 10.0
    _buckets: deque[tuple[int, Counter[Hashable]]] = field(default_factory=deque, repr=False)

    def __post_init__(self) -> None:
        if not (0 < self.bucket <= self.span):
            raise ValueError(f"need 0 < bucket <= span, got bucket={self.bucket}, span={self.span}")

    def add(self, key: Hashable, now: float, count: int = 1) -> None:
        slot = math.floor(now / self.bucket)
        self._expire(slot)
        if not self._buckets or self._buckets[-1][0] < slot:
            self._buckets.append((slot, Counter()))
        # a reading of an earlier slot (a clock read before a later add) counts in the newest bucket
        self._buckets[-1][1][key] += count

    def totals(self, now: float) -> dict[Hashable, int]:
        """Every key's count over the last ``span`` seconds (keys with none left out)."""
        self._expire(math.floor(now / self.bucket))
        found: Counter[Hashable] = Counter()
        for _, counts in self._buckets:
            found.update(counts)
        return dict(found)

    def _expire(self, slot: int) -> None:
        oldest_kept = slot - math.ceil(self.span / self.bucket) + 1
        while self._buckets and self._buckets[0][0] < oldest_kept:
            self._buckets.popleft()

    def __repr__(self) -> str:
        return f"<RecentCounts span={self.span:.0f}s buckets={len(self._buckets)}>"
