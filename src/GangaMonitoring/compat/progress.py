"""How far the active split jobs are, and at what pace: the progress lines of ``queues``.

Subjob states come from memory or Ganga's subjob cache (nothing is loaded
from disk).  The pace compares the number of final subjobs now with the
oldest count of the last ``PROGRESS_SPAN_S`` (each look keeps one sample a
second at most; the status file looks every few seconds), so a subjob
resubmitted or reported twice is never counted twice; the ETA assumes the
pace holds.  Samples of masters no longer active are dropped at each look.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from GangaCore.Utility.logging import getLogger

from .. import introspect
from .._core.clock import Clock
from .._core.index import ActiveJobIndex
from . import registry

log = getLogger("GangaMonitoring.component")

PROGRESS_SPAN_S = 300.0
"""A split job's pace is measured over this many seconds (or since monitoring first looked at it)."""
MIN_PACE_SPAN_S = 2.0
"""No pace from counts closer in time than this."""


class SplitJobProgress:
    """Progress of the active split jobs; ``top_level_job(id)`` finds a job (None: gone)."""

    def __init__(self, clock: Clock, index: ActiveJobIndex, top_level_job: Callable[[int], Any | None]) -> None:
        self.clock = clock
        self.index = index
        self.top_level_job = top_level_job
        self._lock = threading.Lock()
        self._final_samples: dict[int, deque[tuple[float, int]]] = {}
        """master id -> (when, how many of its subjobs were final) at each look, over the last minutes."""

    def look(self, limit: int = 20) -> tuple[list[introspect.JobProgress], int]:
        """The first ``limit`` active split jobs by id, and how many more there are."""
        now = self.clock.now()
        found: list[introspect.JobProgress] = []
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
            found.append(introspect.JobProgress(
                job_id=entry.job_id, backend=entry.backend, subjobs=sum(states.values()), states=dict(states),
                finished_recently=finished, rate_per_min=60 * rate,
                eta_s=active / rate if rate > 0 and active else None))
        with self._lock:
            for gone in set(self._final_samples) - masters:
                del self._final_samples[gone]
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
