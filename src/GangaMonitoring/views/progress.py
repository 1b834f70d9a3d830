"""How far the active split jobs are, and at what pace: the progress lines of ``queues``.

Subjob states come from memory or Ganga's subjob cache (nothing is loaded
from disk).  The pace compares the number of final subjobs now with the
oldest count of the last ``PROGRESS_SPAN_S`` (each look keeps one sample a
second at most; the status file looks every few seconds), so a subjob
resubmitted or reported twice is never counted twice.

The time left comes from the run times of the subjobs that completed in
this session (a failed one may have crashed at once) and the slots in use (:func:`eta_from_run_times`): the pace of the
first seconds after a restart (a burst of subjobs that ended while no Ganga
ran) says nothing of what is left.  With no run time yet, or no subjob
running, the pace is used, and said.  Samples of masters no longer active are
dropped at each look.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from GangaCore.Utility.logging import getLogger

from .snapshot import JobProgress
from ..core.clock import Clock
from ..core.index import ActiveJobIndex
from ..integration import registry

log = getLogger("GangaMonitoring.component")

PROGRESS_SPAN_S = 300.0
"""A split job's pace is measured over this many seconds (or since monitoring first looked at it)."""
MIN_PACE_SPAN_S = 2.0
"""No pace from counts closer in time than this."""
RUN_TIMES_KEPT = 50
"""Run times kept per split job: the newest, so a change of pace (a slower site) shows."""


def eta_from_run_times(run_times: Sequence[float], running: int, queued: int) -> float | None:
    """Seconds until every subjob is final: those running end in about half a typical run time (they are
    half done on average), the queued run after them in waves of ``running`` slots, a run time each.
    None without a run time or a slot in use.  Pure."""
    if not run_times or running <= 0:
        return None
    return statistics.median(run_times) * (0.5 + queued / running)


class SplitJobProgress:
    """Progress of the active split jobs; ``top_level_job(id)`` finds a job (None: gone)."""

    def __init__(self, clock: Clock, index: ActiveJobIndex, top_level_job: Callable[[int], Any | None]) -> None:
        self.clock = clock
        self.index = index
        self.top_level_job = top_level_job
        self._lock = threading.Lock()
        self._final_samples: dict[int, deque[tuple[float, int]]] = {}
        """master id -> (when, how many of its subjobs were final) at each look, over the last minutes."""
        self._run_times: dict[int, deque[float]] = {}
        """master id -> the run times of its subjobs that ended in this session, newest last."""

    def note_run_time(self, master_id: int, seconds: float) -> None:
        """A subjob of ``master_id`` ended after running ``seconds`` (from the status listener)."""
        with self._lock:
            self._run_times.setdefault(master_id, deque(maxlen=RUN_TIMES_KEPT)).append(seconds)

    def look(self, limit: int = 20) -> tuple[list[JobProgress], int]:
        """The first ``limit`` active split jobs by id, and how many more there are."""
        now = self.clock.now()
        found: list[JobProgress] = []
        masters: set[int] = set()
        for entry in sorted(self.index.entries(), key=lambda e: e.job_id):
            job = self.top_level_job(entry.job_id)
            try:
                if job is None or not len(job.subjobs):
                    continue
                masters.add(entry.job_id)
                if len(found) >= limit:
                    continue
                states, _ = registry.subjob_states(job)
            except Exception as err:  # noqa: BLE001 - removed or unreadable while we looked: show the rest
                log.debug("progress of job %s could not be read: %s", entry.job_id, err)
                continue
            final = sum(n for state, n in states.items() if state in registry.FINAL_STATES)
            since, then = self._pace_sample(entry.job_id, now, final)
            finished = max(0, final - then)
            rate = finished / (now - since) if now - since >= MIN_PACE_SPAN_S else 0.0
            active = sum(states.values()) - final
            with self._lock:
                run_times = list(self._run_times.get(entry.job_id, ()))
            eta = eta_from_run_times(run_times, states.get("running", 0),
                                     states.get("submitted", 0) + states.get("submitting", 0)) if active else None
            if eta is None and rate > 0 and active:
                eta, run_times = active / rate, []
            found.append(JobProgress(
                job_id=entry.job_id, backend=entry.backend, subjobs=sum(states.values()), states=dict(states),
                finished_recently=finished, rate_per_min=60 * rate, eta_s=eta,
                eta_from_run_times=len(run_times) if eta is not None else 0))
        with self._lock:
            for gone in set(self._final_samples) - masters:
                del self._final_samples[gone]
            for gone in set(self._run_times) - masters:
                del self._run_times[gone]
        return found, len(masters) - len(found)

    def _pace_sample(self, job_id: int, now: float, final: int) -> tuple[float, int]:
        """Keep (now, final) for ``job_id``; return its oldest sample of the last ``PROGRESS_SPAN_S``."""
        with self._lock:
            samples = self._final_samples.setdefault(job_id, deque())
            if not samples or now - samples[-1][0] >= 1.0:
                samples.append((now, final))
            while len(samples) > 1 and now - samples[1][0] >= PROGRESS_SPAN_S:
                samples.popleft()
            return samples[0]
