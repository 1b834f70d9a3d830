"""The native driver of Ganga's ``Slurm`` backend: one ``squeue`` per poll, plus Ganga's status files.

A :class:`~GangaMonitoring.drivers.batch.BatchDriver` (see there for the two
steps of a poll): one ``squeue --states=all`` call for every job of the poll
(in chunks of ``CHUNK`` ids), with each job's Slurm state and pending reason.
Without accounting (``sacct``), Slurm forgets a job ``MinJobAge`` seconds
after it ends: a job squeue does not know is left to the status files.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence

from GangaCore.Utility.logging import getLogger

from ..core.retry import BackendUnavailable
from .batch import BatchDriver, BatchState

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

Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def run_command(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def query_states(ids: Sequence[str], run: Runner = run_command, chunk: int = 500) -> dict[str, BatchState]:
    """Slurm's state and reason of each job id it still knows (one squeue per ``chunk`` ids)."""
    states: dict[str, BatchState] = {}
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
                states[job_id] = BatchState(state.split()[0].rstrip("+"), reason)
    return states


class SlurmDriver(BatchDriver):
    backend = "Slurm"
    system = "Slurm"
    PENDING = frozenset({"PENDING"})
    RUNNING = frozenset({"RUNNING"})
    COMPLETED = frozenset({"COMPLETED"})
    ENDED = ENDED_OUTSIDE_GANGA
    CHUNK = 500

    def __init__(self, run: Runner = run_command, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self._run = run

    def query_states(self, ids: Sequence[str]) -> dict[str, BatchState]:
        return query_states(ids, self._run, self.CHUNK)
