"""The native driver of Ganga's ``Local`` backend: the status file, and whether the job's process lives.

Ganga's Local backend learns everything from the ``__jobstatus__`` file its
job wrapper writes (the PID when it starts, the exit code when it ends).  A
wrapper that never writes the exit code — killed with SIGKILL, by the OOM
killer, or gone with a reboot — leaves the job ``running`` forever.  This
driver runs Ganga's own update first (unchanged: states, exit codes, the
workdir clean-up, and ``running`` → ``completed`` with no ``completing``
in between, as Ganga's users and tests expect), then looks, for each job
still active that was started on *this* host, whether any of its wrapper
processes is alive.  When none is and the status file still has no exit
code ``EXIT_FILE_GRACE`` seconds later, the job is ``failed``, with the
reason in the log.  Jobs started on another host sharing the gangadir are
left alone: their PIDs mean nothing here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import psutil
from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.logging import getLogger
from GangaCore.Utility.util import hostname

from ..core.retry import JobsFailed
from .base import DriverContext, NativeDriver, apply_each

log = getLogger("GangaMonitoring.drivers.local")


def is_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited (a zombie has)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True  # exists, but we may not look at it: assume it lives


class LocalDriver(NativeDriver):
    backend = "Local"
    EXIT_FILE_GRACE = 10.0

    def __init__(self, alive: Callable[[int], bool] = is_alive, clock: Callable[[], float] = time.monotonic,
                 this_host: str | None = None) -> None:
        self._alive = alive
        self._clock = clock
        self._host = this_host or hostname()
        self._dead_since: dict[str, float] = {}

    def poll(self, jobs: Sequence[Any], ctx: DriverContext, scope: str = "") -> None:
        """Ganga's own update, then each job still active whose processes are gone is failed after the grace.

        One job whose end Ganga refuses (killed or removed meanwhile) is that
        job's trouble (``ctx.job_failed``, then a ``JobsFailed``): the others
        are still looked at, and no breaker counts it.
        """
        raw_jobs = [stripProxy(j) for j in jobs]
        ctx.run_stock_update(raw_jobs)
        active = [(job, None) for job in raw_jobs if job.status in ("submitted", "running")]
        failures = apply_each(ctx, active, lambda job, _answer: self._check_processes(job, ctx))
        if failures:
            raise JobsFailed(f"{len(failures)} Local job(s) could not be updated: " + "; ".join(failures[:5]))

    def _check_processes(self, job: Any, ctx: DriverContext) -> None:
        backend = job.backend
        recorded = backend.wrapper_pid  # -1 before submission, then a list (one pid per submission)
        pids = [int(p) for p in (recorded if isinstance(recorded, list) else [recorded]) if int(p) > 0]
        fqid = job.getFQID(".")
        if not pids or backend.actualCE != self._host or any(self._alive(pid) for pid in pids):
            self._dead_since.pop(fqid, None)
            return
        since = self._dead_since.setdefault(fqid, self._clock())
        if self._clock() - since < self.EXIT_FILE_GRACE:
            return  # the wrapper may just have written its exit code: Ganga's update sees it next time
        del self._dead_since[fqid]
        ctx.job_ended(job, "failed", f"its process (pid {', '.join(map(str, pids))}) is gone and it wrote no "
                                     f"exit code in {self.EXIT_FILE_GRACE:.0f} s (killed?)")

    def tear_down(self) -> None:
        self._dead_since.clear()
