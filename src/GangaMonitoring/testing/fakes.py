"""Stand-ins for what a driver touches during a poll: Ganga's jobs and the component's DriverContext.

A driver is written against a handful of members of Ganga's ``Job``
(``id``, ``status``, ``backend``, ``master``, ``outputdir``, ``getFQID``,
``updateStatus``) and against :class:`~GangaMonitoring.drivers.base.DriverContext`.
:class:`FakeJob` has those members and records every status change with its
``update_master`` flag; :class:`RecordingContext` does to a job what the
component's pipeline does (a job handed over goes ``completing``, a job ended
takes its new state) and records the rest, so a test reads what a poll told
the component without starting Ganga.  Nothing here imports Ganga.

Jobs are named by FQID (``"8"``, ``"8.41"``) in every record: subjobs of
different masters share ids.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..core.clock import FakeClock
from ..drivers.base import FinishedWork

__all__ = ["BrokenJobError", "FakeClock", "FakeJob", "RecordingContext", "StatusUpdate", "StockUpdateRefused"]


class BrokenJobError(RuntimeError):
    """What :meth:`FakeJob.updateStatus` raises for a job marked broken (as Ganga's ``JobStatusError`` does
    for a transition the job refuses): one job's trouble, which must not stop a poll of the others."""


class StatusUpdate(NamedTuple):
    """One call of :meth:`FakeJob.updateStatus`."""

    status: str
    update_master: bool


@dataclass
class _Workspace:
    path: str

    def getPath(self) -> str:  # noqa: N802 - Ganga's name
        return self.path


class FakeJob:
    """A Ganga job as a driver sees it: a top-level job, or a subjob of ``master``.

    ``updateStatus`` sets ``status`` and records the call (:attr:`updates`);
    with :attr:`broken` set it raises :class:`BrokenJobError` instead and
    changes nothing.  Other attributes a driver needs (``time``,
    ``outputfiles``...) can be passed as keywords.
    """

    def __init__(self, job_id: int, backend: Any, status: str = "submitted", master: FakeJob | None = None,
                 outputdir: str = "/nonexistent", **attributes: Any) -> None:
        self.id, self.backend, self.status, self.master, self.outputdir = job_id, backend, status, master, outputdir
        self.subjobs: list[FakeJob] = []
        self.updates: list[StatusUpdate] = []
        self.broken: str | None = None
        """When set, the reason every ``updateStatus`` raises (the job refuses any change)."""
        self.outputfiles: list[Any] = []
        if master is not None:
            master.subjobs.append(self)
        for name, value in attributes.items():
            setattr(self, name, value)

    @property
    def changes(self) -> list[str]:
        """The statuses set through ``updateStatus``, in order."""
        return [update.status for update in self.updates]

    def getFQID(self, sep: str = ".") -> str:  # noqa: N802 - Ganga's name
        return str(self.id) if self.master is None else f"{self.master.getFQID(sep)}{sep}{self.id}"

    def updateStatus(self, status: str, update_master: bool = True) -> None:  # noqa: N802 - Ganga's name
        if self.broken is not None:
            raise BrokenJobError(f"job {self.getFQID('.')} cannot become {status}: {self.broken}")
        self.updates.append(StatusUpdate(status, update_master))
        self.status = status

    def getOutputWorkspace(self) -> _Workspace:  # noqa: N802 - Ganga's name
        return _Workspace(self.outputdir)

    def __repr__(self) -> str:
        return f"<FakeJob {self.getFQID('.')} {self.status}>"


class StockUpdateRefused(AssertionError):
    """A driver ran the backend's own update, and the test gave its context none to run."""


@dataclass
class RecordingContext:
    """A :class:`~GangaMonitoring.drivers.base.DriverContext` that records what a poll told it.

    As the component's pipeline does, ``hand_over`` sets the job
    ``completing`` and ``job_ended`` sets its new state, both with
    ``update_master=False`` (so a broken job raises in them, as it would in
    Ganga).  ``run_stock_update`` runs ``stock_update`` (a stand-in for the
    backend's own ``updateMonitoringInformation``); without one it raises
    :class:`StockUpdateRefused`.  ``on_hand_over(job, work)`` is called after
    a hand-over is recorded, outside the context's lock.  Safe to share
    between threads polling at once.
    """

    stock_update: Callable[[Sequence[Any]], None] | None = None
    on_hand_over: Callable[[Any, FinishedWork], None] | None = None
    handed: list[str] = field(default_factory=list)
    """FQIDs handed over, in order (twice if handed over twice)."""
    work: list[FinishedWork] = field(default_factory=list)
    """The work handed over, in the same order."""
    failed: dict[str, str] = field(default_factory=dict)
    """FQID -> the last reason given to ``job_failed``."""
    fine: list[str] = field(default_factory=list)
    """FQIDs told to ``jobs_fine``."""
    ended: dict[str, tuple[str, str]] = field(default_factory=dict)
    """FQID -> (status, reason) given to ``job_ended``."""
    stock_updates: list[list[str]] = field(default_factory=list)
    """The FQIDs of each ``run_stock_update``."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def hand_over(self, job: Any, work: FinishedWork) -> None:
        job.updateStatus("completing", update_master=False)
        with self._lock:
            self.handed.append(job.getFQID("."))
            self.work.append(work)
        if self.on_hand_over is not None:
            self.on_hand_over(job, work)

    def job_failed(self, job: Any, reason: str) -> None:
        with self._lock:
            self.failed[job.getFQID(".")] = reason

    def jobs_fine(self, jobs: Iterable[Any]) -> None:
        fqids = [job.getFQID(".") for job in jobs]
        with self._lock:
            self.fine += fqids

    def job_ended(self, job: Any, status: str, reason: str) -> None:
        job.updateStatus(status, update_master=False)
        with self._lock:
            self.ended[job.getFQID(".")] = (status, reason)

    def run_stock_update(self, jobs: Sequence[Any]) -> None:
        if self.stock_update is None:
            raise StockUpdateRefused("the driver ran the backend's own update (run_stock_update), and this "
                                     "RecordingContext was given no stock_update to stand for it")
        with self._lock:
            self.stock_updates.append([job.getFQID(".") for job in jobs])
        self.stock_update(jobs)

    def told_of(self, job: Any) -> bool:
        """Did the poll tell anything of ``job`` (handed over, failed, fine or ended)?"""
        fqid = job.getFQID(".")
        with self._lock:
            return fqid in self.handed or fqid in self.failed or fqid in self.fine or fqid in self.ended
