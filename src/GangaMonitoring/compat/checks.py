"""The checks the component runs every so often while it is enabled, and the free-disk check.

A :class:`PeriodicCheck` is one scheduled operation that, when it has run,
schedules its next run ``interval()`` seconds later (the interval is read each
time: a user may change it at the prompt).  The next run is scheduled even
when this one failed: a failed check must not end the checks for good (nor
leave a hold it placed for ever).  Nothing is scheduled once ``enabled()`` is
false.  Ganga-free.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._core.runner import SchedulerRunner
from .._core.work import Kind, Operation, OpKey, PriorityClass


@dataclass(frozen=True)
class PeriodicCheck:
    name: str
    """Names its operation (``OpKey.session(name)``: one run of a check waits at a time)."""
    description: str
    run: Callable[[], object]
    """The check itself (what it returns is not used)."""
    interval: Callable[[], float]

    def schedule(self, runner: SchedulerRunner, due: float, enabled: Callable[[], bool]) -> None:
        """Run at ``due``, then every ``interval()`` seconds while ``enabled()``."""
        def action(_op: Operation) -> None:
            try:
                self.run()
            finally:
                if enabled():
                    self.schedule(runner, runner.clock.now() + self.interval(), enabled)

        runner.submit(Operation(key=OpKey.session(self.name), kind=Kind.CALL, backend=None,
                                priority=PriorityClass.QUEUED, due=due, action=action, description=self.description))


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
