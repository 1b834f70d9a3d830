"""The adaptive cadence of the periodic polls of a Local or Batch backend whose jobs give no file events.

A backend whose jobs' status files are watched (``file_events.py``) learns
their ends from events; one whose jobs are not (``[Monitoring]file_events``
off, or their output directories on a network file system) learns them only
from its periodic polls.  For such a backend, with ``[Monitoring]poll_cadence``
``'adaptive'``, the planner asks :meth:`CadencePolls.periodic_due` when its
next periodic poll is due, in place of one interval after the last
(``core/cadence.py``): sooner when a split job's finished subjobs' median
runtime predicts that a running sibling ends before then, later when polls
see nothing end.  The poll is the backend's periodic poll, unchanged (its
native driver's, or Ganga's own update): one poll costs what it costs at a
fixed interval (one ``squeue`` per 500 jobs for Slurm, one update call per
master on the compatibility path), and the cadence's budget keeps the count
of polls it times, counted from the first, within fixed-interval polling's
(a poll the planner pulls forward for a new job or a submission's end is
made in both and not counted: :data:`PULLED_BY`).

What a subjob's start and runtime are: its status file's START and STOP
stamps (Ganga's ``backend_running`` and ``backend_final``, which its update
records when it moves the subjob), else Ganga's own stamps of the moves.

Contract: the status listener only records (it takes no job lock and
re-reads the job's status); :meth:`periodic_due` runs on the dispatcher and
reads the index and what was recorded, O(split jobs of the backend) with a
binary search each; :meth:`polled` is called once per periodic poll of the
backend, by the poll, after it.  Every method is thread-safe.
"""

from __future__ import annotations

import datetime
import functools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from GangaCore.GPIDev.Base.Proxy import stripProxy

from .. import config
from ..core.cadence import PREDICTION_MARGIN, CadenceSettings, NextPoll, PollCadence, Siblings, next_end
from ..core.clock import Clock
from ..core.index import ActiveJobIndex
from ..views.snapshot import CadenceSnapshot
from . import registry
from .registry import FINAL_STATES

PULLED_BY = 0.5
"""A periodic poll that began this much before the time the cadence planned was pulled forward by the planner
(a new job's first look, a submission's end): fixed-interval polling makes it too, and the budget does not
count it."""


@functools.lru_cache(maxsize=64)
def reads_status_files(backend: str) -> bool:
    """Is ``backend`` (a plugin name) a Local or Batch backend, whose jobs' ends file events could tell?"""
    from GangaCore.Lib.Batch.Batch import Batch
    from GangaCore.Lib.Localhost.Localhost import Localhost
    from GangaCore.Utility.Plugin import PluginManagerError, allPlugins

    try:
        cls = allPlugins.find("backends", backend)
    except PluginManagerError:
        return False
    return isinstance(cls, type) and issubclass(cls, (Batch, Localhost))


@dataclass
class _SplitJob:
    backend: str
    siblings: Siblings
    ended: int = 0
    """Subjobs seen ending in this session (the runtimes kept are the newest only)."""


class CadencePolls:
    """Each such backend's :class:`PollCadence` and each of its split jobs' :class:`Siblings`.

    ``watched(backend)``: how many of its jobs' status files are watched now
    (``FileEvents.watched_count``): the cadence applies while none is.
    """

    def __init__(self, clock: Clock, index: ActiveJobIndex, watched: Callable[[str], int]) -> None:
        self.clock = clock
        self.index = index
        self.watched = watched
        self._lock = threading.Lock()
        self._cadences: dict[str, PollCadence] = {}
        self._split: dict[int, _SplitJob] = {}
        """master id -> its subjobs' starts and runtimes."""
        self._ends: Counter[str] = Counter()
        """backend -> jobs (subjobs included) seen ending."""
        self._ends_at_poll: dict[str, int] = {}
        self._planned: dict[str, NextPoll] = {}
        """backend -> the last due time the planner was given, and why."""

    def applies(self, backend: str) -> bool:
        """Are ``backend``'s periodic polls timed by the cadence?"""
        # the cached plugin check first: this runs in the status listener, for every job's every change
        return (reads_status_files(backend) and self.watched(backend) == 0
                and config.monitoring_option("poll_cadence") == "adaptive")

    # -- what the status listener records ---------------------------------------------------

    def on_status(self, job: Any, _status: str) -> None:
        """Status listener (subjobs too): ends counted per backend; a subjob's start and runtime recorded."""
        raw = stripProxy(job)
        status = registry.job_status(raw)  # the one given may be stale: the listener runs after the lock
        if status != "running" and status not in FINAL_STATES:
            return
        master = raw._getParent()
        top = master if master is not None else raw
        backend = registry.job_backend_name(top)
        if not backend or not self.applies(backend):
            return  # its jobs are watched (their ends are events), or not a Local or Batch backend
        if master is None:
            if status in FINAL_STATES:
                with self._lock:
                    self._ends[backend] += 1
            return
        started, ran = _start_and_runtime(raw, status)
        start = None if started is None else self.clock.now() - started
        with self._lock:
            split = self._split.get(master.id)
            if split is None:
                split = self._split[master.id] = _SplitJob(backend, Siblings())
            if status == "running":
                if start is not None:
                    split.siblings.running(raw.id, start)
                return
            if split.siblings.ended(raw.id, ran if status == "completed" else None):
                split.ended += 1
                self._ends[backend] += 1

    # -- the planner's and the poll's questions ------------------------------------------------

    def periodic_due(self, backend: str, now: float, last_poll: float, interval: float, min_gap: float) -> float:
        """When ``backend``'s next periodic poll is due, its last having begun at ``last_poll``."""
        if not self.applies(backend):
            return last_poll + interval
        with self._lock:
            cadence = self._cadence(backend, interval, min_gap)
            split = self._active_split_jobs(backend)
            siblings = [s.siblings for s in split.values()]
            predicted = next_end(siblings, last_poll + min_gap, PREDICTION_MARGIN)
            earliest = next_end(siblings, float("-inf"), PREDICTION_MARGIN)
            tracked = self.index.count(backend, "running") + self.index.count(backend, "submitted")
            may_back_off = len(split) >= tracked  # every active job of the backend a split job followed here
            planned = cadence.next_poll(now, last_poll, predicted, earliest, may_back_off)
            self._planned[backend] = planned
            return planned.at

    def polled(self, backend: str, started: float, interval: float, min_gap: float) -> None:
        """A periodic poll of ``backend`` began at ``started`` and has ended: its ends reset the back-off."""
        if not self.applies(backend):
            return
        with self._lock:
            ends = self._ends[backend]
            ended = ends - self._ends_at_poll.get(backend, ends)
            self._ends_at_poll[backend] = ends
            planned = self._planned.get(backend)
            pulled = planned is not None and started < planned.at - PULLED_BY
            self._cadence(backend, interval, min_gap).polled(started, ended, asked_apart=pulled)

    def tear_down(self, backend: str) -> None:
        """``backend`` has no active job left: its cadence starts afresh with its next job."""
        with self._lock:
            self._cadences.pop(backend, None)
            self._planned.pop(backend, None)
            self._ends_at_poll.pop(backend, None)
            for master_id in [m for m, s in self._split.items() if s.backend == backend]:
                del self._split[master_id]

    def _cadence(self, backend: str, interval: float, min_gap: float) -> PollCadence:
        cadence = self._cadences.get(backend)
        settings = CadenceSettings(interval=interval, min_gap=min_gap)
        if cadence is None:
            cadence = self._cadences[backend] = PollCadence(settings)
        elif cadence.settings != settings:  # a changed option applies at once; the budget goes on
            cadence.settings = settings
            cadence.budget.interval = interval
        return cadence

    def _active_split_jobs(self, backend: str) -> dict[int, _SplitJob]:
        """The backend's split jobs still in the index (those gone are forgotten)."""
        found = {}
        for master_id, split in list(self._split.items()):
            if split.backend != backend:
                continue
            if self.index.get(master_id) is None:
                del self._split[master_id]
            else:
                found[master_id] = split
        return found

    # -- what users see ----------------------------------------------------------------

    def snapshot(self) -> list[CadenceSnapshot]:
        """Each followed split job of a backend the cadence times, by id."""
        now = self.clock.now()
        shown = []
        with self._lock:
            for master_id, split in sorted(self._split.items()):
                planned = self._planned.get(split.backend)
                if planned is None or not self.applies(split.backend):
                    continue
                cadence = self._cadences.get(split.backend)
                shown.append(CadenceSnapshot(
                    job_id=master_id, backend=split.backend, next_poll_in=planned.at - now, why=planned.why,
                    siblings_ended=split.ended, median_runtime=split.siblings.typical_runtime(),
                    running=len(split.siblings.started), quiet_polls=cadence.quiet if cadence else 0))
        return shown


def _start_and_runtime(raw: Any, status: str) -> tuple[float | None, float | None]:
    """Seconds since ``raw`` started running, and (once ``status`` is final) how long it ran; None: unknown.

    The status file's stamps first (whole seconds), else Ganga's own; both UTC without a time zone.
    """
    stamps = getattr(raw._data.get("time"), "timestamps", None)
    if not isinstance(stamps, dict):
        return None, None
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    for start_name, end_name in (("backend_running", "backend_final"), ("running", "final")):
        start = stamps.get(start_name)
        if not isinstance(start, datetime.datetime):
            continue
        end = stamps.get(end_name) if status in FINAL_STATES else None
        ran = (end - start).total_seconds() if isinstance(end, datetime.datetime) else None
        return max(0.0, (now - start).total_seconds()), None if ran is None else max(0.0, ran)
    return None, None
