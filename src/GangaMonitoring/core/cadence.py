"""An adaptive poll cadence for a backend whose jobs' ends give no file events.

Where events do not arrive (network file systems, ``[Monitoring]file_events=off``)
a backend is polled at its interval, as stock Ganga polls it.  The subjobs of
one split job usually run alike: once some have finished, their runtimes
predict when the running ones end (:class:`Siblings`).  :class:`PollCadence`
times a backend's periodic poll: sooner when such a predicted end falls
before the next periodic poll, and later (backing off up to ``max_backoff``
intervals) after polls over ``quiet_polls`` intervals saw nothing end, when
nothing is predicted to end before then (as Snakemake's Slurm executor does).

Invariant (the budget): counted from the first poll, the polls never outnumber
fixed-interval polling's at any moment: :class:`PollBudget` earns one poll per
interval of elapsed time from the first poll on, holds at most ``capacity``,
and every poll spends one, so a poll made early was saved by a poll skipped
while backing off.  :meth:`PollCadence.next_poll` never names a time at which
the poll is not paid for, and never one sooner than ``min_gap`` after the last.
A poll the planner pulls forward (a new job's first look, the end of a split
job's submission) is made by fixed-interval polling too and is not counted.
Over a window that does not start with the first poll, the polls can exceed
fixed-interval polling's by one (two saved polls spent close together;
``capacity`` 2).

Pure: times are passed in (``now``); Ganga-free; not thread-safe (the caller
holds one lock around every use).
"""

from __future__ import annotations

import bisect
import statistics
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

PREDICTION_MARGIN = 1.5
"""Seconds a predicted end is polled after start + median runtime: the status files' stamps are whole
seconds, and a poll just before an end costs that end a whole interval, one just after it a second."""
RUNTIMES_KEPT = 50
"""Runtimes kept per split job: the newest, so a change of pace (a slower node) shows."""


@dataclass
class PollBudget:
    """Polls a backend may still make now: one earned per ``interval`` since the first poll, spent by each poll."""

    interval: float
    capacity: float = 2.0
    tokens: float = 1.0
    """Starts with one: the first poll, which fixed-interval polling makes too."""
    earned_until: float | None = None

    def refill(self, now: float) -> None:
        if self.earned_until is not None and now > self.earned_until:
            self.tokens = min(self.capacity, self.tokens + (now - self.earned_until) / self.interval)
        if self.earned_until is None or now > self.earned_until:
            self.earned_until = now

    def available_at(self, now: float) -> float:
        """The earliest time from ``now`` at which one poll is paid for."""
        self.refill(now)
        return now if self.tokens >= 1.0 - 1e-9 else now + (1.0 - self.tokens) * self.interval

    def spend(self, now: float) -> None:
        """A poll was made at ``now``: one spent (into debt if it was not paid for: later polls wait for it)."""
        self.refill(now)
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
class Siblings:
    """One split job's subjobs: when each unfinished one started running, and how long finished ones ran."""

    runtimes: deque[float] = field(default_factory=lambda: deque(maxlen=RUNTIMES_KEPT))
    started: dict[int, float] = field(default_factory=dict)
    """subjob id -> when it started running (clock time)."""
    _starts: list[float] = field(default_factory=list)
    """``started``'s values, sorted."""
    _ended: set[int] = field(default_factory=set)

    def running(self, subjob: int, since: float) -> None:
        """Subjob started running at ``since`` (told again, or after its end: nothing changes)."""
        if subjob in self.started or subjob in self._ended:
            return
        self.started[subjob] = since
        bisect.insort(self._starts, since)

    def ended(self, subjob: int, runtime: float | None) -> bool:
        """Subjob ended (``runtime``: how long it ran, None when not known or not a fair sample);
        False when it was told already."""
        if subjob in self._ended:
            return False
        self._ended.add(subjob)
        since = self.started.pop(subjob, None)
        if since is not None:
            del self._starts[bisect.bisect_left(self._starts, since)]
        if runtime is not None:
            self.runtimes.append(runtime)
        return True

    def typical_runtime(self) -> float | None:
        return statistics.median(self.runtimes) if self.runtimes else None

    def next_end(self, after: float, margin: float = 0.0) -> float | None:
        """The earliest predicted end (start + the finished siblings' median runtime + ``margin``) at or after
        ``after``."""
        typical = self.typical_runtime()
        if typical is None:
            return None
        at = bisect.bisect_left(self._starts, after - typical - margin)
        return self._starts[at] + typical + margin if at < len(self._starts) else None


def next_end(siblings: Iterable[Siblings], after: float, margin: float = 0.0) -> float | None:
    """The earliest end any of these split jobs' siblings predict at or after ``after`` (``margin`` later)."""
    return min((end for s in siblings if (end := s.next_end(after, margin)) is not None), default=None)


@dataclass
class PollCadence:
    """A backend's periodic polls: the budget, and how many polls in a row saw nothing end."""

    settings: CadenceSettings
    budget: PollBudget = field(init=False)
    quiet: int = 0
    """Polls in a row that saw nothing end."""
    quiet_first: float | None = None
    """When the first of them began."""

    def __post_init__(self) -> None:
        self.budget = PollBudget(self.settings.interval)

    def polled(self, now: float, ended: int, asked_apart: bool = False) -> None:
        """A poll that began at ``now`` saw ``ended`` jobs end; ``asked_apart``: the planner pulled it forward
        (a new job's first look, a submission's end), as fixed-interval polling does too: not spent."""
        if not asked_apart:
            self.budget.spend(now)
        if ended:
            self.quiet, self.quiet_first = 0, None
        else:
            self.quiet += 1
            self.quiet_first = now if self.quiet_first is None else self.quiet_first

    def backoff(self, last_poll: float) -> float:
        """How many intervals the next poll waits when nothing is predicted to end (1: none).

        Counted in intervals the quiet polls looked at (each one's interval
        before it), not in polls: two polls seconds apart (a new job's first
        look, then the end of its submission) are not two quiet intervals.
        """
        s = self.settings
        if self.quiet < s.quiet_polls or self.quiet_first is None:
            return 1.0
        intervals = int((last_poll - self.quiet_first) / s.interval + 1e-9) + 1
        if intervals < s.quiet_polls:
            return 1.0
        return min(s.max_backoff, 2.0 ** (intervals - s.quiet_polls + 1))

    def next_poll(self, now: float, last_poll: float, predicted: float | None, earliest: float | None = None,
                  may_back_off: bool = True) -> NextPoll:
        """When to poll next, and why (``now`` >= ``last_poll``).

        ``predicted``: the earliest end predicted at or after ``last_poll +
        min_gap`` (:func:`next_end`); ``earliest``: the earliest predicted at
        all (a subjob running longer than its siblings did may end any time:
        no backing off then); ``may_back_off``: no job of the backend needs
        its interval kept (one no sibling predicts).
        """
        s = self.settings
        due, why = last_poll + s.interval, INTERVAL
        soonest = min((t for t in (predicted, earliest) if t is not None), default=None)
        backoff = self.backoff(last_poll)
        if may_back_off and (soonest is None or soonest > due + s.interval) and backoff > 1.0:
            due, why = last_poll + backoff * s.interval, f"nothing ended in {self.quiet} polls: backing off"
        if predicted is not None and predicted < due:
            due, why = predicted, PREDICTED
        due = max(due, last_poll + s.min_gap, now, self.budget.available_at(now))
        if why == PREDICTED and predicted is not None and due > predicted + 1e-6:
            why = BUDGET  # not paid for at the predicted end (planned again later, the poll waited for it)
        return NextPoll(due, why)


INTERVAL = "the interval"
PREDICTED = "a predicted end"
BUDGET = "a predicted end, when the poll budget allows"


@dataclass(frozen=True)
class NextPoll:
    """When a backend's next periodic poll is due, and why (one of the sentences above, or a back-off's)."""

    at: float
    why: str
