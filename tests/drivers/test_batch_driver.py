"""A batch system's driver in a few lines: what ``BatchDriver`` does for any batch system (an LSF-like one here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from GangaMonitoring.drivers.batch import BatchDriver, BatchState


class LsfLikeDriver(BatchDriver):
    """What an LSF driver would be: its states, and one query (here a dict stands for ``bjobs``)."""

    backend = "LSF"
    system = "LSF"
    PENDING = frozenset({"PEND", "PSUSP"})
    RUNNING = frozenset({"RUN"})
    COMPLETED = frozenset({"DONE"})
    ENDED = {"EXIT": "failed", "ZOMBI": "failed"}

    def __init__(self, answers: dict[str, BatchState], clock: Any) -> None:
        super().__init__(clock)
        self.answers = answers
        self.asked: list[list[str]] = []

    def query_states(self, ids: Sequence[str]) -> dict[str, BatchState]:
        self.asked.append(list(ids))
        return {i: self.answers[i] for i in ids if i in self.answers}


@dataclass
class Backend:
    id: str


@dataclass
class Job:
    id: int
    backend: Backend
    status: str = "submitted"
    changes: list[str] = field(default_factory=list)

    def updateStatus(self, status: str, update_master: bool = True) -> None:  # noqa: N802 - Ganga's name
        self.status = status
        self.changes.append(status)


class Context:
    def __init__(self) -> None:
        self.stock_updates: list[list[Any]] = []
        self.ended: list[tuple[int, str, str]] = []

    def run_stock_update(self, jobs: Sequence[Any]) -> None:
        self.stock_updates.append(list(jobs))

    def job_ended(self, job: Any, status: str, reason: str) -> None:
        self.ended.append((job.id, status, reason))
        job.status = status

    def job_failed(self, job: Any, reason: str) -> None:
        raise AssertionError(f"no job of this test fails alone: {reason}")

    def jobs_fine(self, jobs: Any) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_batch_driver_asks_once_then_applies_what_the_batch_system_says() -> None:
    clock = Clock()
    jobs = {n: Job(n, Backend(str(100 + n))) for n in range(5)}
    jobs[1].status = "running"
    driver = LsfLikeDriver({"100": BatchState("PEND", "Job dependency condition not satisfied"),
                            "101": BatchState("EXIT", "TERM_RUNLIMIT"), "102": BatchState("RUN"),
                            "103": BatchState("DONE")}, clock)
    ctx = Context()
    driver.poll(list(jobs.values()), ctx)  # type: ignore[arg-type]
    assert driver.asked == [["100", "101", "102", "103", "104"]]  # one query for every job of the poll
    assert ctx.stock_updates == [list(jobs.values())]  # Ganga's status files first
    assert driver.says(jobs[0]) == "LSF (id 100) keeps it pending: Job dependency condition not satisfied"
    assert ctx.ended == [(1, "failed", "it ended outside Ganga: LSF (id 101) says EXIT (TERM_RUNLIMIT)")]
    assert jobs[2].changes == ["running"] and jobs[4].changes == []  # 104: forgotten, left to the status files
    assert jobs[3].status == "submitted"  # DONE, but its exit code may still be on its way
    clock.now += driver.EXIT_FILE_GRACE
    driver.poll([jobs[3]], ctx)  # type: ignore[arg-type]
    assert ctx.ended[-1] == (3, "failed", "LSF (id 103) says DONE but the job wrote no exit code in 30 s")
    driver.answers["100"] = BatchState("RUN")
    driver.poll([jobs[0]], ctx)  # type: ignore[arg-type]
    assert jobs[0].status == "running" and driver.says(jobs[0]) is None
