"""Stand-ins for the few members of Ganga jobs a driver's poll uses, and a recording DriverContext."""

from __future__ import annotations

from typing import Any


class FakeJob:
    """A top-level job with ``backend``; status changes are recorded, not run through Ganga."""

    master = None

    def __init__(self, job_id: int, backend: Any, status: str = "submitted") -> None:
        self.id, self.status, self.backend, self.outputdir = job_id, status, backend, "/nonexistent"
        self.changes: list[str] = []

    def getFQID(self, sep: str) -> str:  # noqa: N802 - Ganga's name
        return str(self.id)

    def updateStatus(self, status: str, update_master: bool = True) -> None:  # noqa: N802 - Ganga's name
        self.status = status
        self.changes.append(status)


class RecordingContext:
    """A DriverContext that marks a handed-over job completing, as the component does, and records the rest."""

    def __init__(self) -> None:
        self.handed: list[int] = []
        self.failed: dict[int, str] = {}
        self.fine: list[int] = []
        self.ended: dict[int, tuple[str, str]] = {}

    def hand_over(self, job: FakeJob, work: object) -> None:
        job.status = "completing"
        self.handed.append(job.id)

    def job_failed(self, job: FakeJob, reason: str) -> None:
        self.failed[job.id] = reason

    def jobs_fine(self, jobs: list[FakeJob]) -> None:
        self.fine += [job.id for job in jobs]

    def job_ended(self, job: FakeJob, status: str, reason: str) -> None:
        job.status = status
        self.ended[job.id] = (status, reason)

    def run_stock_update(self, jobs: object) -> None:
        raise AssertionError("a native driver never runs the stock update here")
