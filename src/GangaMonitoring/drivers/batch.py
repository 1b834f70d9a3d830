"""The native driver of a batch system: one query of its job states per poll, plus Ganga's status files.

Ganga's Batch backends (Slurm, LSF, PBS, SGE, Condor) never ask the batch
system anything: a job's state comes only from the ``__jobstatus__`` file its
wrapper writes.  A job cancelled outside Ganga (a cancel command, a node
failure, a time limit) never writes one, so it stays ``submitted`` forever,
or ``running`` until the heartbeat times out (600 s).  A :class:`BatchDriver`
polls in two steps:

1. :meth:`BatchDriver.query_states` for every job of the poll: the batch
   system's state of each job it still knows, and why it is pending;
2. Ganga's own status-file update (the backend's ``updateMonitoringInformation``,
   unchanged: running, exit code, heartbeat), then, for jobs it left active,
   what the batch system says: a running state → ``running``; a state of
   :attr:`~BatchDriver.ENDED` → that Ganga state; a completed state with no
   exit code written after ``EXIT_FILE_GRACE`` seconds → ``failed``.

Finished jobs complete in place, as stock (outputs are on the shared
filesystem, and ``completed`` is stamped by the status file), so nothing is
handed over for retrieval.  A job the batch system no longer knows is left to
the status files; a job whose change Ganga refuses is that job's trouble
(``ctx.job_failed``), and the others are updated.  A subclass names its states and implements
:meth:`~BatchDriver.query_states` (``slurm.py`` is one).
"""

from __future__ import annotations

import abc
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ..core.retry import JobsFailed
from ..core.weak import PerObject
from .base import DriverContext, NativeDriver, apply_each

ACTIVE = ("submitted", "running")


@dataclass(frozen=True)
class BatchState:
    """What the batch system says of one job: its state (the system's own word) and why it is pending."""

    state: str
    reason: str = ""


class BatchDriver(NativeDriver):
    """A batch system's native driver; a subclass sets the class attributes and :meth:`query_states`."""

    system: ClassVar[str]
    """How messages name the batch system ("Slurm")."""
    PENDING: ClassVar[frozenset[str]]
    RUNNING: ClassVar[frozenset[str]]
    COMPLETED: ClassVar[frozenset[str]]
    """States in which the job ended well: its wrapper should have written an exit code."""
    ENDED: ClassVar[dict[str, str]]
    """States that mean the job ended, and the Ganga state for a job whose wrapper never said so."""
    EXIT_FILE_GRACE = 30.0
    """Seconds a completed job may take to show its exit code on the shared filesystem."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._completed_since: PerObject[float] = PerObject()
        """Job -> when the batch system was first seen to say it completed while no exit code was written."""
        self.pending_reasons: PerObject[str] = PerObject()
        """Job -> why the batch system keeps it pending (``queues.why``)."""

    @abc.abstractmethod
    def query_states(self, ids: Sequence[str]) -> dict[str, BatchState]:
        """The state of each of ``ids`` the batch system still knows (ids it forgot are left out).

        Raise ``BackendUnavailable`` when the batch system cannot be asked (its command fails).
        """

    def poll(self, jobs: Sequence[Any], ctx: DriverContext, scope: str = "") -> None:
        raw_jobs = [getattr(j, "_impl", j) for j in jobs]
        by_id = {str(j.backend.id): j for j in raw_jobs if j.backend.id not in (None, "", -1)}
        states = self.query_states(sorted(by_id))
        ctx.run_stock_update(raw_jobs)  # Ganga's status files
        answered = [(job, states[batch_id]) for batch_id, job in by_id.items()
                    if job.status in ACTIVE and batch_id in states]
        failures = apply_each(ctx, answered, functools.partial(self._apply, ctx=ctx))
        if failures:
            # one job's trouble (a state change Ganga refused), not the batch system's: no breaker counts it
            raise JobsFailed(f"{len(failures)} {self.system} job(s) could not be updated: " + "; ".join(failures[:5]))

    def files_changed(self, jobs: Sequence[Any], ctx: DriverContext) -> None:
        """Ganga's status-file update of ``jobs`` alone: what the batch system says waits for the next poll
        (one query per poll interval, whatever the events)."""
        ctx.run_stock_update([getattr(j, "_impl", j) for j in jobs])

    def _apply(self, job: Any, said: BatchState, ctx: DriverContext) -> None:
        self.pending_reasons.forget(job)
        if said.state in self.PENDING:
            self.pending_reasons.put(job, said.reason)
        elif said.state in self.RUNNING and job.status == "submitted":
            job.updateStatus("running", update_master=False)
        elif said.state in self.ENDED:
            ctx.job_ended(job, self.ENDED[said.state], f"it ended outside Ganga: {self.system} (id {job.backend.id}) "
                                                       f"says {said.state} ({said.reason})")
        elif said.state in self.COMPLETED:
            self._completed_but_silent(job, said, ctx)

    def _completed_but_silent(self, job: Any, said: BatchState, ctx: DriverContext) -> None:
        """Completed, but the wrapper wrote no exit code: give the file system a grace period."""
        first_seen = self._completed_since.get(job)
        if first_seen is None:
            first_seen = self._clock()
            self._completed_since.put(job, first_seen)
        if self._clock() - first_seen < self.EXIT_FILE_GRACE:
            return
        self._completed_since.forget(job)
        ctx.job_ended(job, "failed", f"{self.system} (id {job.backend.id}) says {said.state} but the job wrote no "
                                     f"exit code in {self.EXIT_FILE_GRACE:.0f} s")

    def says(self, job: Any) -> str | None:
        reason = self.pending_reasons.get(job)
        if reason is None or job.status != "submitted":
            return None
        return f"{self.system} (id {job.backend.id}) keeps it pending: {reason}"

    def tear_down(self) -> None:
        self._completed_since.clear()
        self.pending_reasons.clear()
