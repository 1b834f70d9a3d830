"""Jobs stuck in ``completing``: noticed, and handed back to their backend's monitoring.

A backend without a native driver finalises its jobs itself.  Dirac's update
sets a finished job ``completing`` and starts an asyncio task that downloads
and unpacks its sandbox; when that task ends in an error it only logs, the
job stays ``completing`` for ever (upstream #2093): it is no longer polled
(only ``submitted`` and ``running`` jobs are) and nothing retries it until
the next Ganga start, whose clean-up puts it back to ``running``.

This check does in a running session what that clean-up does at start, and
only where it is due: a job of such a backend that has been ``completing``
for longer than ``[Monitoring]completing_timeout`` (by its own ``completing``
time stamp) is logged and set back to ``running``, with Dirac's
``been_queued`` flag cleared, so the next poll finds it finished on the
backend and the backend finalises it again.  Jobs of native drivers are
not looked at: their retrieval and finalisation are our own operations,
with their own retries and outcome.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.logging import getLogger

from .._core.index import FINALISING_STATES

log = getLogger("GangaMonitoring.completing")


def completing_for(job: Any, now_utc: datetime.datetime) -> float | None:
    """Seconds ``job`` has been ``completing`` (Ganga stamps states in UTC), or None if it is not."""
    raw = stripProxy(job)
    if raw.status != "completing":
        return None
    since = raw.time.timestamps.get("completing")
    if not isinstance(since, datetime.datetime):
        return None  # no stamp to go by: leave it to the start-up clean-up
    return (now_utc - since).total_seconds()


def stuck_jobs(candidates: Iterable[Any], timeout: float,
               now_utc: datetime.datetime) -> list[tuple[Any, float]]:
    """(job, seconds completing) of the jobs among ``candidates`` completing for longer than ``timeout``."""
    stuck = []
    for job in candidates:
        age = completing_for(job, now_utc)
        if age is not None and age > timeout:
            stuck.append((job, age))
    return stuck


def hand_back(job: Any, age: float) -> None:
    """Set a stuck job back to ``running`` so its backend's next poll finalises it again."""
    raw = stripProxy(job)
    log.warning("job %s has been completing for %.0f s ([Monitoring]completing_timeout): its finalisation "
                "was lost; it goes back to running and its backend finalises it again", raw.getFQID("."), age)
    if hasattr(raw, "been_queued"):
        raw.been_queued = False  # Dirac's "a finalisation task is on its way" flag
    raw.status = "running"  # as Ganga's start-up clean-up does: no transition of the state graph leads back
    if raw.master is not None:
        raw.master.updateMasterJobStatus()


def hand_back_stuck_jobs(top_jobs: Iterable[Any], timeout: float, now_utc: datetime.datetime) -> None:
    """Hand back every job (or subjob) of ``top_jobs`` completing for longer than ``timeout``.

    One job that cannot be read is logged and skipped: it must not stop the check.
    """
    for top in top_jobs:
        try:
            for job, age in stuck_jobs([top, *completing_subjobs(top)], timeout, now_utc):
                hand_back(job, age)
        except Exception as err:  # noqa: BLE001 - one broken job must not stop the check
            log.warning("could not check job %s for a lost finalisation: %s", stripProxy(top).id, err)


def completing_subjobs(job: Any) -> list[Any]:
    """Subjobs in a finalising state, found without loading masters that have none."""
    raw = stripProxy(job)
    cache = raw._index_cache if isinstance(raw._index_cache, dict) else {}
    if "subjobs" not in raw._data and not FINALISING_STATES & set(cache.get("subjobs:status", ())):
        return []
    subjobs = raw.subjobs
    if not len(subjobs):
        return []
    cached = getattr(subjobs, "getAllCachedData", None)
    if cached is not None:
        return [subjobs[i] for i, entry in enumerate(cached()) if entry.get("status") in FINALISING_STATES]
    return [sj for sj in subjobs if sj.status in FINALISING_STATES]
