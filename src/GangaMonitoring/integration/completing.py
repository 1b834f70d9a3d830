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

The check and the hand-back are apart in time (a late finalisation may
land between them), so the hand-back re-checks under the job's root lock
(``const_lock``, the lock Ganga's status setter takes): a job is handed
back only if it is still ``completing`` since the very stamp the check
saw, and no final state was stamped after it (Ganga stamps a new state
just before it sets it).  The re-check and the change are one step for
every other writer of the job's status.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.logging import getLogger

from ..core.index import FINALISING_STATES

log = getLogger("GangaMonitoring.completing")


FINAL_STAMPS = ("completed", "failed", "killed")
"""Stamps a finalisation writes (just before it sets the status)."""


@dataclass(frozen=True)
class StuckJob:
    """A job the check found ``completing`` for too long: since ``since`` (its stamp), ``age`` seconds."""

    job: Any
    since: datetime.datetime
    age: float


def completing_since(job: Any) -> datetime.datetime | None:
    """The ``completing`` stamp of ``job`` (Ganga stamps states in naive UTC), or None if it is not completing."""
    raw = stripProxy(job)
    if raw.status != "completing":
        return None
    since = raw.time.timestamps.get("completing")
    if not isinstance(since, datetime.datetime):
        return None  # no stamp to go by: leave it to the start-up clean-up
    return since


def stuck_jobs(candidates: Iterable[Any], timeout: float, now_utc: datetime.datetime) -> list[StuckJob]:
    """The jobs among ``candidates`` completing for longer than ``timeout``."""
    stuck = []
    for job in candidates:
        since = completing_since(job)
        if since is None:
            continue
        age = (now_utc - since).total_seconds()
        if age > timeout:
            stuck.append(StuckJob(job, since, age))
    return stuck


def still_stuck(raw: Any, since: datetime.datetime) -> bool:
    """Is ``raw`` still completing since ``since``, with no finalisation stamped after it?"""
    if raw.status != "completing":
        return False
    stamps = raw.time.timestamps
    if stamps.get("completing") != since:
        return False  # completing again since: a newer finalisation is on its way
    return not any(isinstance(stamps.get(s), datetime.datetime) and stamps[s] >= since for s in FINAL_STAMPS)


def hand_back(stuck: StuckJob) -> bool:
    """Set a stuck job back to ``running`` so its backend's next poll finalises it again.

    Under the job's root lock, and only if it is still stuck as the check
    saw it (:func:`still_stuck`); returns whether it was handed back.
    """
    raw = stripProxy(stuck.job)
    with raw.const_lock:  # Ganga's status setter takes this lock: nobody sets a status meanwhile
        if not still_stuck(raw, stuck.since):
            log.debug("job %s is no longer stuck completing (now %s): not handed back",
                      raw.getFQID("."), raw.status)
            return False
        log.warning("job %s has been completing for %.0f s ([Monitoring]completing_timeout): its finalisation "
                    "was lost; it goes back to running and its backend finalises it again",
                    raw.getFQID("."), stuck.age)
        if hasattr(raw, "been_queued"):
            raw.been_queued = False  # Dirac's "a finalisation task is on its way" flag
        raw.status = "running"  # as Ganga's start-up clean-up does: no transition of the state graph leads back
    if raw.master is not None:  # outside the lock: the roll-up reads every subjob
        raw.master.updateMasterJobStatus()
    return True


def hand_back_stuck_jobs(top_jobs: Iterable[Any], timeout: float, now_utc: datetime.datetime) -> None:
    """Hand back every job (or subjob) of ``top_jobs`` completing for longer than ``timeout``.

    One job that cannot be read is logged and skipped: it must not stop the check.
    """
    for top in top_jobs:
        try:
            for stuck in stuck_jobs([top, *completing_subjobs(top)], timeout, now_utc):
                hand_back(stuck)
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
