"""``queues.wait(jobs, until=..., timeout=...)``: a script (or the prompt) waits until jobs reach a state.

:class:`Waiter` listens to status changes (``patches.add_status_listener``,
subjobs included) and keeps the last status of each job waited for, and of
each subjob of a split job waited for (for the progress only: a split job
is done when its own status, rolled up from its subjobs, is).  The waiting
thread sleeps on an event the listener sets; it reads no Ganga object while
it waits (a status change wakes it; a terminal's progress bar is redrawn
once a second for its clock).  Ctrl-C (``KeyboardInterrupt``) ends the wait
with what is known then, as a timeout does.

Output: at a terminal (``stream.isatty()``, ``TERM`` neither ``dumb`` nor
``unknown``) one progress line redrawn in place; elsewhere (a log, a pipe,
Emacs' shell, whose ``TERM=dumb`` draws no escapes) an opening line with what is waited for
and the jobs' states then (a job already there is said there, never as a
change), a plain line per later change of a job waited for, and for split
jobs one progress line at most every :data:`PLAIN_PROGRESS_EVERY` seconds.

The listener runs in the thread that changed a status, after Ganga's setter
let the job's lock go: it reads only that job's ids, and writes this
waiter's own table under its own lock.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..core.work import JobKey
from .. import patches
from ..integration.notify import FINAL, key_of, listened_key

ENDED = FINAL | {"removed", "new"}
"""A job in one of these will not reach a state it is waited for by itself (``new``: its submission failed)."""
KNOWN_STATES = frozenset({"new", "submitting", "submitted", "running", "completing", "completed", "failed",
                          "killed", "removed", "unknown", "incomplete", "completed_frozen", "failed_frozen"})
PLAIN_PROGRESS_EVERY = 10.0
"""Seconds between two progress lines of split jobs when the output is not a terminal."""
TERMINAL_REDRAW = 1.0
"""Seconds between two redraws of the progress bar at a terminal when nothing changes (its clock)."""
BAR_WIDTH = 30


@dataclass(frozen=True)
class WaitResult:
    """What a wait ended with: each job's status then, which reached what was waited for, and why it ended.

    ``reached``: FQID -> status, the jobs in a state waited for.  ``ended``:
    FQID -> status, the jobs that ended otherwise (a final state not waited
    for, ``removed``, or ``new`` again after a failed submission): they will
    not get there.  ``waiting``: FQID -> status, the jobs still on their way
    when the wait ended (``timed_out`` or ``interrupted``).  True (``bool``)
    when every job reached what was waited for.
    """

    reached: dict[str, str]
    ended: dict[str, str]
    waiting: dict[str, str]
    until: tuple[str, ...]
    elapsed: float
    timed_out: bool = False
    interrupted: bool = False

    @property
    def statuses(self) -> dict[str, str]:
        """Every job's status at the end of the wait."""
        return {**self.reached, **self.ended, **self.waiting}

    def __bool__(self) -> bool:
        return not self.ended and not self.waiting

    def summary(self) -> str:
        counts = Counter(self.statuses.values())
        how = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        total = len(self.statuses)
        if self.waiting:
            why = "interrupted" if self.interrupted else "timed out"
            shown = ", ".join(f"{fqid} {status}" for fqid, status in list(self.waiting.items())[:5])
            more = ", ..." if len(self.waiting) > 5 else ""
            return (f"{why} after {self.elapsed:.0f} s: {len(self.waiting)} of {total} job(s) not "
                    f"{'/'.join(self.until)} yet ({shown}{more}); {how}")
        return f"{total} job(s) after {self.elapsed:.0f} s: {how}"

    def __repr__(self) -> str:
        return self.summary()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.summary())


def parse_until(until: str | Iterable[str]) -> frozenset[str]:
    """The states waited for: ``"final"`` (completed, failed, killed), a state, several ("running,completed")."""
    names = [until] if isinstance(until, str) else list(until)
    states: set[str] = set()
    for name in names:
        for part in str(name).split(","):
            part = part.strip()
            if part == "final":
                states |= FINAL
            elif part in KNOWN_STATES:
                states.add(part)
            else:
                raise ValueError(f"until={part!r} is not a job state: use 'final' or one of "
                                 f"{', '.join(sorted(KNOWN_STATES))}")
    if not states:
        raise ValueError("until names no state")
    return frozenset(states)


@dataclass
class _Split:
    """A split job waited for: its subjobs' statuses (for the progress only)."""

    statuses: dict[int, str] = field(default_factory=dict)
    final: int = 0


class Waiter:
    """Waits for the jobs of ``keys`` to reach ``until``; ``masters``: the split ones, whose subjobs are counted.

    A status is None until the listener or :meth:`fill` gives one: the
    listener is added before the statuses are read, and a status the
    listener wrote is never overwritten by the (older) one read.
    """

    def __init__(self, keys: Iterable[JobKey], until: frozenset[str], masters: Iterable[int] = (),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.until = until
        self.clock = clock
        self._lock = threading.Lock()
        self._woken = threading.Event()
        self._changes: list[tuple[JobKey, str]] = []
        self._statuses: dict[JobKey, str | None] = dict.fromkeys(keys)
        self._split = {master: _Split() for master in masters}

    def fill(self, statuses: dict[JobKey, str], subjobs: dict[int, dict[int, str]]) -> None:
        """The statuses read after the listener was added, where it has given none."""
        with self._lock:
            for key, status in statuses.items():
                if self._statuses.get(key) is None:
                    self._statuses[key] = status
            for master, subs in subjobs.items():
                split = self._split[master]
                for number, status in subs.items():
                    split.statuses.setdefault(number, status)
                split.final = sum(1 for s in split.statuses.values() if s in FINAL)

    # -- the listener (any thread) ------------------------------------------------------

    def changed(self, job: Any, status: str) -> None:
        key = listened_key(job)
        if key is None:
            return
        with self._lock:
            if key in self._statuses and self._statuses[key] != status:
                self._statuses[key] = status
                self._changes.append((key, status))
                self._woken.set()
            if key.sub is not None and key.top in self._split:
                split = self._split[key.top]
                before = split.statuses.get(key.sub)
                if before != status:
                    split.final += (status in FINAL) - (before in FINAL)
                    split.statuses[key.sub] = status
                    self._woken.set()

    # -- the waiting thread --------------------------------------------------------------

    def done(self, status: str | None) -> bool:
        return status is not None and (status in self.until or status in ENDED)

    def all_done(self) -> bool:
        with self._lock:
            return all(self.done(s) for s in self._statuses.values())

    def wait(self, timeout: float | None, show: Callable[[Waiter, list[tuple[JobKey, str]], bool], None],
             tick: float | None) -> tuple[bool, bool]:
        """Sleep on the listener's event until every job is done, ``timeout`` passes or Ctrl-C.

        ``show(waiter, changes, last)`` is called after each wake (``tick``:
        at least that often).  Returns ``(timed_out, interrupted)``.
        """
        started = self.clock()
        deadline = None if timeout is None else started + timeout
        try:
            while True:
                show(self, self.take_changes(), False)
                if self.all_done():
                    return False, False
                left = None if deadline is None else deadline - self.clock()
                if left is not None and left <= 0:
                    return True, False
                sleep = min(x for x in (left, tick, 3600.0) if x is not None)
                self._woken.wait(sleep)
                self._woken.clear()
        except KeyboardInterrupt:
            return False, True
        finally:
            show(self, self.take_changes(), True)

    def take_changes(self) -> list[tuple[JobKey, str]]:
        with self._lock:
            changes, self._changes = self._changes, []
            return changes

    def split_progress(self) -> tuple[int, int]:
        """(final subjobs, subjobs) over the split jobs waited for."""
        with self._lock:
            return sum(s.final for s in self._split.values()), sum(len(s.statuses) for s in self._split.values())

    def snapshot(self) -> dict[JobKey, str]:
        with self._lock:
            return {key: status or "unknown" for key, status in self._statuses.items()}


class Display:
    """How a wait shows itself on ``stream``: a bar redrawn in place at a terminal, plain lines elsewhere."""

    def __init__(self, stream: TextIO, until: frozenset[str], clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.terminal = redraws(stream)
        self.until = until
        self.clock = clock
        self.started = clock()
        self._last_plain_progress = self.started
        self._opened = False

    @property
    def tick(self) -> float | None:
        return TERMINAL_REDRAW if self.terminal else PLAIN_PROGRESS_EVERY

    def __call__(self, waiter: Waiter, changes: list[tuple[JobKey, str]], last: bool) -> None:
        statuses = waiter.snapshot()
        done = sum(1 for s in statuses.values() if waiter.done(s))
        sub_final, subjobs = waiter.split_progress()
        elapsed = self.clock() - self.started
        if self.terminal:
            self._bar(done, len(statuses), sub_final, subjobs, elapsed, Counter(statuses.values()), last)
            return
        if not self._opened:
            self._opened = True
            self._line(opening(statuses, self.until, done))
        for key, status in changes:
            self._line(f"job {key.fqid} {status} ({done}/{len(statuses)} done, {elapsed:.0f} s)")
        if subjobs and (last or self.clock() - self._last_plain_progress >= PLAIN_PROGRESS_EVERY):
            self._last_plain_progress = self.clock()
            self._line(f"{sub_final}/{subjobs} subjobs final ({elapsed:.0f} s)")

    def _bar(self, done: int, total: int, sub_final: int, subjobs: int, elapsed: float,
             counts: Counter[str], last: bool) -> None:
        part, whole = (sub_final, subjobs) if subjobs else (done, total)
        filled = BAR_WIDTH * part // max(whole, 1)
        states = " ".join(f"{status} {n}" for status, n in sorted(counts.items()))
        minutes, seconds = divmod(int(elapsed), 60)
        what = f"{sub_final}/{subjobs} subjobs" if subjobs else f"{done}/{total} jobs"
        self.stream.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {what} | {states} | "
                          f"{minutes:02d}:{seconds:02d}\033[K")
        if last:
            self.stream.write("\n")
        self.stream.flush()

    def _line(self, text: str) -> None:
        self.stream.write(f"queues.wait: {text}\n")
        self.stream.flush()


def redraws(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal that can redraw a line in place (a carriage return, an erase to its end)."""
    if not getattr(stream, "isatty", lambda: False)():
        return False
    return os.environ.get("TERM", "").lower() not in DUMB_TERMINALS


DUMB_TERMINALS = frozenset({"dumb", "unknown"})
"""``TERM`` values of terminals that print escape sequences as text (Emacs' shell, some CI consoles)."""


def by_job(item: tuple[JobKey, str]) -> tuple[int, int]:
    """Sort key of ``(key, status)`` pairs: by job id, a job before its subjobs."""
    key = item[0]
    return key.top, -1 if key.sub is None else key.sub


OPENING_LISTS_UP_TO = 10
"""An opening line names each job's state up to this many jobs; beyond, it counts them by state."""


def opening(statuses: dict[JobKey, str], until: frozenset[str], done: int) -> str:
    """The plain output's first line: how many jobs, until what, and where they are (``0 completed, 1 running``)."""
    target = "final" if until == FINAL else "|".join(sorted(until))
    if len(statuses) <= OPENING_LISTS_UP_TO:
        where = ", ".join(f"{key.fqid} {status}" for key, status in sorted(statuses.items(), key=by_job))
    else:
        where = ", ".join(f"{status} {n}" for status, n in sorted(Counter(statuses.values()).items()))
    return f"waiting for {len(statuses)} job(s) to be {target}, {done} already: {where}"


def wait_for_jobs(raws: list[Any], until: frozenset[str], timeout: float | None, stream: TextIO,
                  subjob_statuses: Callable[[Any], Iterable[tuple[int, str]]]) -> WaitResult:
    """Wait for the raw jobs ``raws`` (top-level or subjobs) to reach ``until``; see :class:`Waiter`."""
    keys = {key_of(raw): raw for raw in raws}
    masters = [key.top for key, raw in keys.items() if key.sub is None and len(raw.subjobs)]
    waiter = Waiter(keys, until, masters)
    patches.add_status_listener(waiter.changed, subjobs=True)
    try:
        waiter.fill({key: raw.status for key, raw in keys.items()},
                    {master: dict(subjob_statuses(keys[JobKey(master)])) for master in masters})
        display = Display(stream, until, waiter.clock)
        timed_out, interrupted = waiter.wait(timeout, display, display.tick)
    finally:
        patches.remove_status_listener(waiter.changed)
    final = waiter.snapshot()
    reached = {k.fqid: s for k, s in sorted(final.items(), key=by_job) if s in until}
    ended = {k.fqid: s for k, s in sorted(final.items(), key=by_job) if s not in until and s in ENDED}
    waiting = {k.fqid: s for k, s in sorted(final.items(), key=by_job) if not waiter.done(s)}
    return WaitResult(reached, ended, waiting, tuple(sorted(until)), waiter.clock() - display.started,
                      timed_out=timed_out and bool(waiting), interrupted=interrupted and bool(waiting))
