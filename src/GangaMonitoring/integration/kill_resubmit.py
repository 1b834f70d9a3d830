"""Auto-kill and auto-resubmit: what the old monitoring loop applied and the asyncio one silently dropped.

Ganga's ``[PollThread]`` still documents them, and its Job class still has
the methods they call, but nothing in Ganga 8.7 runs them:

- ``autoKillThreshold`` (20; -1 disables it): a split job with that many
  failed subjobs and none completed is killed, instead of burning the
  user's quota on a job that is evidently broken;
- ``do_auto_resubmit`` (a Job attribute, off by default): failed subjobs
  are resubmitted while fewer than ``MaxFracForResubmit`` of the finished
  subjobs failed, each at most ``MaxNumResubmits`` times; a plain job is
  resubmitted when it fails, as many times.  The backend has the last word
  (``check_auto_resubmit``).

:class:`KillResubmitChecks` says when :func:`kill_or_resubmit` runs: after each poll
of a backend, for the jobs it polled (each job at most every
``CHECK_INTERVAL`` seconds), and soon, as an operation of its own, when a
top-level job turns ``failed`` or the finalisation of a subjob ends it
``failed``.  Subjob states are read from Ganga's subjob cache, so a master
whose subjobs are not loaded is not loaded for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.Config import getConfig
from GangaCore.Utility.logging import getLogger

from ..core.clock import Clock
from ..runtime.runner import SchedulerRunner
from ..core.work import Kind, Operation, OpKey, PriorityClass
from . import registry

log = getLogger("GangaMonitoring.kill_resubmit")

CHECK_INTERVAL = 10.0
"""Seconds between two checks of one job after its polls (counting a master's subjobs costs as much as a poll)."""

SUCCEEDED = ("completed", "completing")
"""A completing subjob counts as succeeded: its outcome is unknown, and Ganga cannot kill it."""


def kill_or_resubmit(job: Any) -> str | None:
    """Apply auto-kill and auto-resubmit to one top-level job; returns what was done (for the log and tests)."""
    raw = stripProxy(job)
    config = getConfig("PollThread")
    if len(raw.subjobs):
        return _apply_to_split_job(raw, config)
    if raw.do_auto_resubmit and raw.status == "failed" and raw.info.submit_counter <= config["MaxNumResubmits"] \
            and raw.backend.check_auto_resubmit():
        log.warning("job %s failed: resubmitting it automatically (do_auto_resubmit, attempt %d of %d)",
                    raw.id, raw.info.submit_counter, config["MaxNumResubmits"])
        raw.auto_resubmit()
        return "resubmitted"
    return None


def _apply_to_split_job(job: Any, config: Any) -> str | None:
    if not job.do_auto_resubmit and any(status in SUCCEEDED for _, status in registry.subjob_statuses(job)):
        # auto-kill needs no subjob to have succeeded, and resubmission is off: nothing to decide.
        # This stops at the first success instead of reading every state (at 50k subjobs, each
        # failed subjob's check read all 50k).
        return None
    states, failed = registry.subjob_states(job)
    succeeded = sum(states[s] for s in SUCCEEDED)
    threshold = config["autoKillThreshold"]
    # A completing subjob counts as succeeded: its outcome is unknown, and Ganga's kill would fail on
    # it (completing -> killed is no transition). The finalisation of each failed subjob asks again.
    if threshold != -1 and succeeded == 0 and states["failed"] >= threshold and job.status not in registry.FINAL_STATES:
        log.warning("job %s: %d subjobs failed and none completed (autoKillThreshold %d): killing it. "
                    "Please check the job's options.", job.id, states["failed"], threshold)
        job.auto_kill()
        return "killed"
    if not job.do_auto_resubmit or not failed:
        return None
    if states["failed"] / (succeeded + states["failed"]) >= config["MaxFracForResubmit"]:
        return None  # too many fail: resubmitting would not help
    retriable = [n for n in failed if job.subjobs[n].info.submit_counter <= config["MaxNumResubmits"]]
    if not retriable or not job.backend.check_auto_resubmit():
        return None
    log.warning("job %s: resubmitting %d failed subjob(s) automatically (do_auto_resubmit)", job.id, len(retriable))
    job.auto_resubmit()
    return "resubmitted"


class KillResubmitChecks:
    """When a job is checked for auto-kill and auto-resubmit.

    ``resolve(job ids)``: the top-level jobs of those ids that still exist.
    Invariant: :attr:`checked` holds only jobs checked in the last two
    ``CHECK_INTERVAL``s, not every job the session ever checked.
    """

    def __init__(self, clock: Clock, runner: SchedulerRunner, resolve: Callable[[list[int]], list[Any]]) -> None:
        self.clock = clock
        self.runner = runner
        self.resolve = resolve
        self.checked: dict[int, float] = {}
        """job id -> when it was last checked."""
        self.pruned_at = -math.inf

    def after_poll(self, jobs: Iterable[Any], force: bool = False) -> None:
        """Check ``jobs`` here (in the poll's own operation); each at most every interval, unless ``force``."""
        now = self.clock.now()
        self._forget_old_checks(now)
        for job in jobs:
            job_id = stripProxy(job).id
            if not force and now - self.checked.get(job_id, -CHECK_INTERVAL) < CHECK_INTERVAL:
                continue
            self.checked[job_id] = now
            try:
                done = kill_or_resubmit(job)
            except Exception as err:  # noqa: BLE001 - one job's policy must not fail the poll
                log.warning("automatic kill/resubmit check of job %s failed: %s", job_id, err)
                continue
            if done:
                log.debug("job %s: %s by auto-kill/auto-resubmit", job_id, done)

    def soon(self, backend: str, job_id: int) -> None:
        """A top-level job turned failed outside a poll (finalisation): check it in half a second."""
        def action(_op: Operation) -> None:
            self.after_poll(self.resolve([job_id]), force=True)

        self.runner.submit(Operation(key=OpKey.kill_resubmit(job_id), kind=Kind.CALL, backend=backend,
                                     priority=PriorityClass.FINALISE, due=self.clock.now() + 0.5, action=action,
                                     job_ids={job_id}, description=f"auto-kill/resubmit check of job {job_id}"))

    def _forget_old_checks(self, now: float) -> None:
        """Keep only checks of the last interval (an older one no longer defers a check), once an interval."""
        if now - self.pruned_at < CHECK_INTERVAL:
            return
        self.pruned_at = now
        self.checked = {job_id: at for job_id, at in self.checked.items() if now - at < CHECK_INTERVAL}
