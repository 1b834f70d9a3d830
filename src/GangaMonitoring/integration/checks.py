"""The checks the component runs every so often while it is enabled, and the free-disk check.

A :class:`PeriodicCheck` is one scheduled operation that, when it has run,
schedules its next run ``interval()`` seconds later (the interval is read each
time: a user may change it at the prompt).  The next run is scheduled even
when this one failed: a failed check must not end the checks for good (nor
leave a hold it placed for ever).  Nothing is scheduled once ``enabled()`` is
false.  A check whose cost grows with the session (the status file's rows and
queued work at 10,000 subjobs) may be given ``max_share``: its next run then
waits long enough that its runs take at most that share of the time
(:func:`next_due`).  Ganga-free.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..runtime.runner import SchedulerRunner
from ..core.work import Kind, Operation, OpKey, PriorityClass


@dataclass(frozen=True)
class PeriodicCheck:
    name: str
    """Names its operation (``OpKey.session(name)``: one run of a check waits at a time)."""
    description: str
    run: Callable[[], object]
    """The check itself (what it returns is not used)."""
    interval: Callable[[], float]
    max_share: float | None = None
    """At most this share of the session's time goes to the check's runs (None: every ``interval()``)."""

    def schedule(self, runner: SchedulerRunner, due: float, enabled: Callable[[], bool]) -> None:
        """Run at ``due``, then every ``interval()`` seconds (or longer: ``max_share``) while ``enabled()``."""
        def action(_op: Operation) -> None:
            started = runner.clock.now()
            try:
                self.run()
            finally:
                if enabled():
                    self.schedule(runner, next_due(started, runner.clock.now(), self.interval(), self.max_share),
                                  enabled)

        runner.submit(Operation(key=OpKey.session(self.name), kind=Kind.CALL, backend=None,
                                priority=PriorityClass.QUEUED, due=due, action=action, description=self.description))


def next_due(started: float, ended: float, interval: float, max_share: float | None) -> float:
    """When a check that ran from ``started`` to ``ended`` runs next: ``interval`` after its end, or later, so
    that a run of ``ended - started`` seconds is at most ``max_share`` of the time from its start to the next.

    A run's time is the clock's: on a loaded machine or with a busy GIL it is longer than its CPU time, and
    the check backs off the more (e.g. a 0.4 s run with ``max_share`` 0.02 runs again 20 s after it began).
    """
    if max_share is None or max_share <= 0:
        return ended + interval
    return max(ended + interval, started + (ended - started) / max_share)


class FreeDiskCheck:
    """Hold retrieval and finalisation before the disk is full, not only when a write fails.

    ``hold(reason)`` at every check while the free space at ``path()`` is
    below ``minimum_mb()`` (holding what is held already changes nothing);
    ``release(reason)`` once when it is back above.  ``path()`` None (no
    gangadir yet): nothing.
    """

    def __init__(self, hold: Callable[[str], Any], release: Callable[[str], Any], path: Callable[[], str | None],
                 minimum_mb: Callable[[], float], free_bytes: Callable[[str], int] | None = None) -> None:
        self._hold = hold
        self._release = release
        self._path = path
        self._minimum_mb = minimum_mb
        self._free_bytes = free_bytes or (lambda where: shutil.disk_usage(where).free)
        self.held = False

    def __call__(self) -> None:
        path = self._path()
        if path is None:
            return
        free_mb = self._free_bytes(path) / 2**20
        minimum = self._minimum_mb()
        if free_mb < minimum:
            self.held = True
            self._hold(f"only {free_mb:.0f} MB free in {path} ([Monitoring]min_free_disk_mb = {minimum:.0f}): "
                       "output retrieval and finalisation wait")
        elif self.held:
            self.held = False
            self._release(f"{free_mb:.0f} MB free again in {path}")
