"""Native drivers: a backend's monitoring split into the scheduler's operations.

The compatibility driver runs a backend's whole update (status query,
output download, unpacking, state change) as one call, so one slow
download delays every other job of the backend.  A native driver splits it::

    POLL (poll pool)        driver.poll(jobs, ctx): one bulk query; sets the states that
          │                 need no output (running, killed); for a finished job it sets
          │                 'completing' and hands plain-data FinishedWork to ctx
          ▼
    RETRIEVE (io pool)      driver.retrieve(work) -> path of the downloaded output
          │                 (to a temp name, renamed when complete: a crash leaves no half file)
          ▼
    FINALISE (cpu pool)     driver.unpack(work, path) in a worker *process* (plain data in/out),
                            then driver.finish(job, work, files) in this process: the state change

Retrieval and finalisation are per job and run at the FINALISE priority
class, ahead of polls.  ``completing`` marks a job whose end is owned by
these operations; a session killed meanwhile leaves it ``completing``, and
the next session's recovery sets it back to ``running`` so it is polled,
retrieved and finalised again (every step is idempotent).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar
from collections.abc import Callable, Iterable, Sequence

from ..core.bugs import own_bug
from ..core.work import JobKey as JobKey  # drivers' name for it: how work finds its job again

T = TypeVar("T")


def job_key(job: Any) -> JobKey:
    """A job's key: ``(id, None)`` for a top-level job, ``(master id, id)`` for a subjob (a GPI proxy or not)."""
    raw = getattr(job, "_impl", job)
    master = raw.master
    return JobKey(raw.id) if master is None else JobKey(master.id, raw.id)


def fqid(key: tuple[int, int | None]) -> str:
    """The FQID Ganga shows for a key (a :class:`JobKey` or a plain pair): ``"8"`` or ``"8.41"``."""
    return JobKey(*key).fqid


@dataclass(frozen=True)
class FinishedWork:
    """What retrieval and finalisation need to know about one finished job: plain, picklable data."""

    job_key: JobKey
    fqid: str
    backend: str
    backend_id: Any
    outputdir: str
    final_status: str
    """'completed' or 'failed': what the backend said."""
    finished_at: float | None = None
    server: str = ""
    detail: str = ""
    """The backend's own word for how the job ended (Dirac: 'Done', 'Failed', 'Killed'...)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "job_key", JobKey(*self.job_key))  # a driver may give a plain pair


class DriverContext(Protocol):
    """What the component offers a driver during a poll."""

    def hand_over(self, job: Any, work: FinishedWork) -> None:
        """Mark ``job`` completing and schedule its retrieval and finalisation."""

    def run_stock_update(self, jobs: Sequence[Any]) -> None:
        """Run the jobs' backend's own ``updateMonitoringInformation`` (sync or coroutine) on ``jobs``."""

    def job_failed(self, job: Any, reason: str) -> None:
        """``job`` alone could not be updated while the service answered for others (it does not know
        the job, its answer for it was unusable): its trouble, not the backend's.  After
        ``[Monitoring]failing_job_grace`` of that, the job is marked failed with ``reason``."""

    def jobs_fine(self, jobs: Iterable[Any]) -> None:
        """``jobs`` were updated: any run of failures of theirs is over."""

    def job_ended(self, job: Any, status: str, reason: str) -> None:
        """The driver found that ``job`` ended as ``status`` ("failed", "killed") for ``reason``, which the
        backend's own update cannot see (its process gone, the batch system's word): the job is set to
        ``status`` (its master rolled up), and ``reason`` is logged and kept for ``queues.why``."""


def apply_each(ctx: DriverContext, answers: Iterable[tuple[Any, T]], apply: Callable[[Any, T], None]) -> list[str]:
    """``apply(job, answer)`` for each job the service answered for; one job's error is that job's alone.

    A job whose ``apply`` raises is told to ``ctx.job_failed`` and the
    others go on, unless the error is this package's own bug (``core.bugs``):
    that is raised, and no job is told.  Those updated are told to
    ``ctx.jobs_fine``.  Returns one "job <fqid>: <error>" line per failed job,
    for the poll's ``JobsFailed``.
    """
    failures: list[str] = []
    fine: list[Any] = []
    for job, answer in answers:
        try:
            apply(job, answer)
        except Exception as err:  # noqa: BLE001 - one job's trouble must not stop the others
            if own_bug(err):
                raise  # ours, not the job's: counted against no job
            reason = f"{type(err).__name__}: {err}"
            failures.append(f"job {job.getFQID('.')}: {reason}")
            ctx.job_failed(job, reason)
        else:
            fine.append(job)
    ctx.jobs_fine(fine)
    return failures


class NativeDriver(abc.ABC):
    """Monitoring of one backend family as separate operations."""

    backend: ClassVar[str]

    @staticmethod
    def unpack(work: FinishedWork, path: str) -> list[str]:
        """Runs in a worker process: unpack what was retrieved.

        Drivers that hand jobs over set it to a top-level function of a
        Ganga-free module (``unpack = staticmethod(outputs.unpack_retrieved)``)
        so it pickles by name.  A driver whose jobs finish in place (outputs
        on a shared filesystem) never hands over, and needs neither this nor
        :meth:`retrieve`.
        """
        raise NotImplementedError(f"the {work.backend} driver does not hand jobs over")

    @abc.abstractmethod
    def poll(self, jobs: Sequence[Any], ctx: DriverContext, scope: str = "") -> None:
        """Query the backend once for ``jobs`` (submitted/running, subjobs included).

        ``scope`` names the set of jobs this poll covers (the planner's poll
        group): polls of different scopes may run at the same time, so a
        driver that keeps incremental state (a cursor) keeps it per scope.
        """

    def files_changed(self, jobs: Sequence[Any], ctx: DriverContext) -> None:
        """``jobs`` (active, none a master) wrote their status files: look at them now.

        The default is :meth:`poll` of those jobs; a driver whose poll also
        asks a service (Slurm's ``squeue``) reads only what the files say, so
        events never multiply a service's requests.
        """
        self.poll(jobs, ctx, scope="file-event")

    def retrieve(self, work: FinishedWork) -> str:
        """Download the job's output (I/O only: runs on the io pool); return its local path."""
        raise NotImplementedError(f"the {work.backend} driver does not hand jobs over")

    def finish(self, job: Any, work: FinishedWork, files: list[str]) -> None:
        """Apply the outcome to the job (main process, short): the final state change.

        ``update_master=False``: the pipeline rolls a subjob's master up itself, once.
        """
        job.updateStatus(work.final_status, update_master=False)

    def release(self, work: FinishedWork) -> None:  # noqa: B027 - optional hook: most drivers keep nothing
        """The component is done with ``work`` without :meth:`finish`: it gave up on its output, or
        its job was removed or changed meanwhile.  Forget what the driver kept for it."""

    def says(self, job: Any) -> str | None:
        """What the backend last said of ``job`` that ``queues.why`` should show (None: nothing)."""
        return None

    def tear_down(self) -> None:  # noqa: B027 - optional hook: most drivers hold nothing
        """Release what the driver holds once its backend has no active jobs."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} for {self.backend}>"
