"""An adaptive poll cadence for a split job whose subjobs' ends give no file events.

Where events do not arrive (network file systems, ``[Monitoring]file_events=off``)
a backend is polled at its interval, as stock Ganga polls it.  The subjobs of
one split job usually run alike: once some have finished, their runtimes
predict when the running ones end.  :func:`next_poll` polls sooner when such a
predicted end falls before the next periodic poll, and later (backing off up
to ``max_backoff`` intervals) when nothing is predicted to end and nothing
ended lately (as Snakemake's Slurm executor does).

Invariant (the budget): the polls never outnumber stock's over any stretch
that starts with the first poll: :class:`PollBudget` earns one poll per
interval of elapsed time from the first poll on, holds at most ``capacity``,
and every poll spends one, so a poll made early was saved by a poll skipped
while backing off.  A poll is never due sooner than ``min_gap`` after the last.

Pure: times are passed in (``now``); Ganga-free; not thread-safe (one per
split job, owned by its poll planner).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class PollBudget:
    """Polls a split job may still make now: one earned per ``interval`` since the first poll, spent by each poll."""

    interval: float
    capacity: float = 2.0
    tokens: float = 1.0
    """Starts with one: the first poll, which stock makes too."""
    earned_until: float | None = None

    def refill(self, now: float) -> None:
        if self.earned_until is not None and now > self.earned_until:
            self.tokens = min(self.capacity, self.tokens + (now - self.earned_until) / self.interval)
        if self.earned_until is None or now > self.earned_until:
            self.earned_until = now

    def available_at(self, now: float) -> float:
        """The earliest time from ``now`` at which one poll is paid for."""
        self.refill(now)
        return now if self.tokens >= 1.0 else now + (1.0 - self.tokens) * self.interval

    def spend(self, now: float) -> None:
        """A poll was made at ``now`` (it must have been paid: ``available_at(now) == now``)."""
        self.refill(now)
        if self.tokens < 1.0 - 1e-9:
            raise ValueError(f"a poll at {now} was not paid for ({self.tokens:.2f} polls left)")
        self.tokens -= 1.0


@dataclass(frozen=True)
class CadenceSettings:
    interval: float
    """The backend's poll interval (stock's cadence)."""
    min_gap: float = 2.0
    """No poll sooner than this after the last (``first_poll_delay``)."""
    max_backoff: float = 4.0
    """When nothing ends, the next poll waits up to this many intervals."""
    quiet_polls: int = 2
    """Polls in a row that saw no end before backing off begins."""


@dataclass
class SplitJobCadence:
    """What one split job's polls saw: its finished subjobs' runtimes, and polls in a row without an end."""

    settings: CadenceSettings
    budget: PollBudget = field(init=False)
    runtimes: list[float] = field(default_factory=list)
    quiet: int = 0

    def __post_init__(self) -> None:
        self.budget = PollBudget(self.settings.interval)

    def polled(self, now: float, ended_runtimes: Sequence[float]) -> None:
        """A poll at ``now`` found these subjobs ended, each after the runtime given (end less start)."""
        self.budget.spend(now)
        self.runtimes.extend(ended_runtimes)
        self.quiet = 0 if ended_runtimes else self.quiet + 1

    def next_poll(self, now: float, last_poll: float, running_since: Sequence[float]) -> float:
        """When to poll next, given when each unfinished subjob started running (``now`` >= ``last_poll``)."""
        s = self.settings
        periodic = last_poll + s.interval
        if self.quiet >= s.quiet_polls and not self._end_before(running_since, periodic + s.interval):
            periodic = last_poll + min(s.max_backoff, 2.0 ** (self.quiet - s.quiet_polls + 1)) * s.interval
        due = periodic
        predicted = self._next_end(running_since, after=last_poll + s.min_gap)
        if predicted is not None and predicted < due:
            due = predicted
        due = max(due, last_poll + s.min_gap, now)
        return max(due, self.budget.available_at(now))

    def _next_end(self, running_since: Sequence[float], after: float) -> float | None:
        """The earliest predicted end (start + the finished siblings' median runtime) at or after ``after``."""
        if not self.runtimes or not running_since:
            return None
        typical = statistics.median(self.runtimes)
        ends = [start + typical for start in running_since if start + typical >= after]
        return min(ends, default=None)

    def _end_before(self, running_since: Sequence[float], until: float) -> bool:
        if not self.runtimes:
            return False
        typical = statistics.median(self.runtimes)
        return any(start + typical <= until for start in running_since)
