"""The conformance kit on this package's own drivers that run without Ganga: SimGrid's, against the
simulator on 127.0.0.1, and batch systems' (an LSF-like one and Slurm's) with a fake query.
(Dirac's needs GangaDirac's configuration: ``tests/ganga/test_dirac_conformance.py``.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import ganga  # noqa: F401 - puts GangaCore on sys.path (the drivers import Ganga's logging and proxies)
from GangaMonitoring.drivers.base import NativeDriver
from GangaMonitoring.simulator.process import SimGridProcess
from GangaMonitoring.testing import DONE, RUNNING, DriverConformance, FakeJob, Scenario

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
