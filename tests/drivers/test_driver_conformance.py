"""The conformance kit on this package's own drivers that run without Ganga: SimGrid's, against the
simulator on 127.0.0.1, and batch systems' (an LSF-like one and Slurm's) with a fake query.
(Dirac's needs GangaDirac's configuration: ``tests/ganga/test_dirac_conformance.py``.)"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

import ganga  # noqa: F401 - puts GangaCore on sys.path (the drivers import Ganga's logging and proxies)
from GangaMonitoring.drivers.base import NativeDriver
from GangaMonitoring.drivers.batch import BatchDriver, BatchState
from GangaMonitoring.simulator.process import SimGridProcess
from GangaMonitoring.testing import DONE, RUNNING, DriverConformance, FakeClock, FakeJob, Scenario

# -- SimGrid: the real driver, the real simulator -------------------------------------------------


@dataclass
class SimGridBackend:
    server: str
    id: int
    status: str = ""
    finished_at: float = 0.0


@pytest.fixture(scope="module")
def grids() -> Iterator[tuple[SimGridProcess, SimGridProcess]]:
    """A grid whose jobs are done as soon as submitted, and one whose jobs run for an hour."""
    quick = SimGridProcess("--queue-time", "0", "0", "--run-time", "0", "0", "--failure-fraction", "0",
                           "--output-bytes", "64")
    slow = SimGridProcess("--queue-time", "0", "0", "--run-time", "3600", "3600")
    quick.start()
    slow.start()
    yield quick, slow
    quick.stop()
    slow.stop()


class SimGridScenario(Scenario):
    def __init__(self, quick: SimGridProcess, slow: SimGridProcess) -> None:
        import GangaMonitoring.drivers.simgrid as module

        self.quick, self.slow = quick.client(), slow.client()
        clients = {client.url: client for client in (self.quick, self.slow)}
        self._module, self._saved = module, module.client_for
        module.client_for = lambda server: clients[server.rstrip("/")]  # type: ignore[assignment]

    def backend(self, state: str) -> SimGridBackend:
        if state == RUNNING:
            return SimGridBackend(self.slow.url, self.slow.submit(1)[0])
        if state == DONE:
            return SimGridBackend(self.quick.url, self.quick.submit(1)[0])
        return SimGridBackend(self.slow.url, 10**6)  # a job this grid never had

    def end(self, job: FakeJob) -> None:
        assert self.slow.kill([job.backend.id]) == [job.backend.id]

    def close(self) -> None:
        self._module.client_for = self._saved  # type: ignore[assignment]
        for client in (self.quick, self.slow):
            client.close()


class TestSimGridDriver(DriverConformance):
    @pytest.fixture(autouse=True)
    def _grids(self, grids: tuple[SimGridProcess, SimGridProcess]) -> None:
        self.grids = grids

    def make_driver(self) -> NativeDriver:
        from GangaMonitoring.drivers.simgrid import SimGridDriver

        return SimGridDriver()

    def make_scenario(self) -> Scenario:
        return SimGridScenario(*self.grids)


# -- batch systems: the real drivers, a fake query --------------------------------------------------


@dataclass
class BatchBackend:
    id: str


class BatchScenario(Scenario):
    """A batch system whose jobs end in place: Ganga's status file (``stock_update``) says a job completed."""

    hands_over = False
    reports_unknown_jobs = False  # left to the status files

    def __init__(self, running: str, done: str, ended: str) -> None:
        self.running, self.done, self.ended = running, done, ended
        self.states: dict[str, BatchState] = {}
        self.submitted = 0

    def backend(self, state: str) -> BatchBackend:
        self.submitted += 1
        batch_id = str(1000 + self.submitted)
        if state == RUNNING:
            self.states[batch_id] = BatchState(self.running)
        elif state == DONE:
            self.states[batch_id] = BatchState(self.done)
        return BatchBackend(batch_id)  # UNKNOWN: the batch system forgot it

    def end(self, job: FakeJob) -> None:
        self.states[job.backend.id] = BatchState(self.ended, "killed by an administrator")

    def stock_update(self, jobs: Sequence[Any]) -> None:
        """The status file of a job done says exit code 0."""
        for job in jobs:
            said = self.states.get(job.backend.id)
            if said is not None and said.state == self.done and job.status in ("submitted", "running"):
                job.status = "completed"

    def query(self, ids: Sequence[str]) -> dict[str, BatchState]:
        return {i: self.states[i] for i in ids if i in self.states}


class LsfLikeDriver(BatchDriver):
    backend = "LSF"
    system = "LSF"
    PENDING = frozenset({"PEND"})
    RUNNING = frozenset({"RUN"})
    COMPLETED = frozenset({"DONE"})
    ENDED = {"EXIT": "failed"}

    def __init__(self, scenario: BatchScenario) -> None:
        super().__init__(FakeClock().now)
        self.scenario = scenario

    def query_states(self, ids: Sequence[str]) -> dict[str, BatchState]:
        return self.scenario.query(ids)


class TestLsfLikeBatchDriver(DriverConformance):
    def make_driver(self) -> NativeDriver:
        return LsfLikeDriver(self.scenario)

    def make_scenario(self) -> Scenario:
        self.scenario = BatchScenario("RUN", "DONE", "EXIT")
        return self.scenario


class TestSlurmDriver(DriverConformance):
    """Slurm's driver with a fake ``squeue`` answering from the scenario."""

    def make_driver(self) -> NativeDriver:
        from GangaMonitoring.drivers.slurm import SlurmDriver

        def squeue(command: list[str]) -> subprocess.CompletedProcess[str]:
            ids = command[command.index("-j") + 1].split(",")
            lines = [f"{i}|{said.state}|{said.reason}" for i, said in self.scenario.query(ids).items()]
            return subprocess.CompletedProcess(command, 0, "\n".join(lines), "")

        return SlurmDriver(run=squeue, clock=FakeClock().now)

    def make_scenario(self) -> Scenario:
        self.scenario = BatchScenario("RUNNING", "COMPLETED", "CANCELLED")
        return self.scenario
