"""The native driver of Ganga's ``Slurm`` backend: one ``squeue`` per poll, plus Ganga's status files.

Ganga's Batch backends never ask the batch system anything: a job's state
comes only from the ``__jobstatus__`` file its wrapper writes.  A job
cancelled outside Ganga (``scancel``, a node failure, a time limit) never
writes one, so it stays ``submitted`` forever, or ``running`` until the
heartbeat times out (600 s).  This driver polls in two steps:

1. one ``squeue --states=all`` call for every job of the poll (in chunks of
   ``CHUNK`` ids), with each job's Slurm state and pending reason;
2. Ganga's own status-file update (``Slurm.updateMonitoringInformation``,
   unchanged: running, exit code, heartbeat), then, for jobs it left
   active, what Slurm says: ``RUNNING`` → running; ``CANCELLED`` → killed;
   ``FAILED``, ``TIMEOUT``, ``NODE_FAIL``... → failed; ``COMPLETED`` with no
   exit code written after ``EXIT_FILE_GRACE`` seconds → failed.

Finished jobs complete in place, as stock (outputs are on the shared
filesystem, and ``completed`` is stamped by the status file), so nothing is
handed over for retrieval.  Without accounting (``sacct``), Slurm forgets a
job ``MinJobAge`` seconds after it ends: a job squeue does not know is left
to the status files.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.logging import getLogger

from .._core.retry import BackendUnavailable
from .._core.weak import PerObject
from .base import DriverContext, NativeDriver

log = getLogger("GangaMonitoring.drivers.slurm")

ENDED_OUTSIDE_GANGA = {
    "CANCELLED": "killed",
    "FAILED": "failed",
    "TIMEOUT": "failed",
    "NODE_FAIL": "failed",
    "OUT_OF_MEMORY": "failed",
    "BOOT_FAIL": "failed",
    "DEADLINE": "failed",
    "PREEMPTED": "failed",
}
"""Slurm states that mean the job ended, and the Ganga state for a job whose wrapper never said so."""

ACTIVE = ("submitted", "running")


@dataclass(frozen=True)
class SlurmState:
    state: str
    reason: str


Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def run_command(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def query_states(ids: Sequence[str], run: Runner = run_command, chunk: int = 500) -> dict[str, SlurmState]:
    """Slurm's state and reason of each job id it still knows (one squeue per ``chunk`` ids)."""
    states: dict[str, SlurmState] = {}
    for start in range(0, len(ids), chunk):
        batch = ids[start:start + chunk]
        try:
            result = run(["squeue", "-h", "--states=all", "-o", "%i|%T|%r", "-j", ",".join(batch)])
        except (OSError, subprocess.TimeoutExpired) as err:
            raise BackendUnavailable(f"squeue failed: {err}") from err
        if result.returncode != 0:
            if "Invalid job id" in result.stderr:
                continue  # every id of this batch is forgotten (older than MinJobAge)
            raise BackendUnavailable(f"squeue exited {result.returncode}: {result.stderr.strip()[:300]}")
        for line in result.stdout.splitlines():
            job_id, _, rest = line.strip().partition("|")
            state, _, reason = rest.partition("|")
            if job_id and state:
                states[job_id] = SlurmState(state.split()[0].rstrip("+"), reason)
    return states


class SlurmDriver(NativeDriver):
    backend = "Slurm"
    CHUNK = 500
    EXIT_FILE_GRACE = 30.0

    def __init__(self, run: Runner = run_command, clock: Callable[[], float] = time.monotonic) -> None:
        self._run = run
        self._clock = clock
        self._completed_without_exit_file: dict[str, float] = {}
        self.pending_reasons: PerObject[str] = PerObject()
        """Job -> why Slurm keeps it pending (``queues.why``); kept as long as the job object lives."""

    def poll(self, jobs: Sequence[Any], ctx: DriverContext, scope: str = "") -> None:
        raw_jobs = [stripProxy(j) for j in jobs]
        by_id = {str(j.backend.id): j for j in raw_jobs if j.backend.id not in (None, "", -1)}
        states = query_states(sorted(by_id), self._run, self.CHUNK)
        ctx.run_stock_update(raw_jobs)  # Ganga's status files
        for slurm_id, job in by_id.items():
            if job.status in ACTIVE and slurm_id in states:
                self._apply(job, states[slurm_id], ctx)

    def _apply(self, job: Any, slurm: SlurmState, ctx: DriverContext) -> None:
        fqid = job.getFQID(".")
        self.pending_reasons.forget(job)
        if slurm.state == "PENDING":
            self.pending_reasons.put(job, slurm.reason)
        elif slurm.state == "RUNNING" and job.status == "submitted":
            job.updateStatus("running", update_master=False)
        elif slurm.state in ENDED_OUTSIDE_GANGA:
            ctx.job_ended(job, ENDED_OUTSIDE_GANGA[slurm.state],
                          f"it ended outside Ganga: Slurm (id {job.backend.id}) says {slurm.state} ({slurm.reason})")
        elif slurm.state == "COMPLETED":
            self._completed_but_silent(job, fqid, ctx)

    def _completed_but_silent(self, job: Any, fqid: str, ctx: DriverContext) -> None:
        """Slurm says COMPLETED but the wrapper wrote no exit code: give the file system a grace period."""
        first_seen = self._completed_without_exit_file.setdefault(fqid, self._clock())
        if self._clock() - first_seen < self.EXIT_FILE_GRACE:
            return
        del self._completed_without_exit_file[fqid]
        ctx.job_ended(job, "failed", f"Slurm (id {job.backend.id}) says COMPLETED but the job wrote no exit code "
                                     f"in {self.EXIT_FILE_GRACE:.0f} s")

    def says(self, job: Any) -> str | None:
        reason = self.pending_reasons.get(job)
        if reason is None or job.status != "submitted":
            return None
        return f"Slurm (id {job.backend.id}) keeps it pending: {reason}"

    def tear_down(self) -> None:
        self._completed_without_exit_file.clear()
        self.pending_reasons.clear()
