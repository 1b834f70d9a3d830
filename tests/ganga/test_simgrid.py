"""The SimGrid backend in an in-process Ganga, under GangaMonitoring and under stock monitoring."""

from __future__ import annotations

import os
from typing import Any, Iterator

import pytest

from GangaMonitoring.simulator.process import SimGridProcess

from .conftest import ganga_options, wait_for

pytestmark = pytest.mark.ganga


@pytest.fixture
def simgrid() -> Iterator[SimGridProcess]:
    process = SimGridProcess("--queue-time", "0", "2", "--run-time", "1", "3", "--output-bytes", "512",
                             "--failure-fraction", "0.05", "--seed", "11")
    process.start()
    yield process
    process.stop()


def start(gangadir: str, simgrid: SimGridProcess, *extra: tuple[str, str, Any]) -> Any:
    from GangaCore.testlib.GangaUnitTest import start_ganga

    start_ganga(gangadir, extra_opts=ganga_options([("PollThread", "SimGrid", 1), ("SimGrid", "server", simgrid.url),
                                                    *extra]))
    from GangaCore import GPI
    from GangaCore.Core import monitoring_component

    monitoring_component.enable()
    return GPI


def check_every_subjob_final_with_output(job: Any, grid: Any) -> None:
    views = {v["id"]: v for v in grid.status(sj.backend.id for sj in job.subjobs)}
    expected = {"Done": "completed", "Failed": "failed"}
    for sj in job.subjobs:
        assert sj.status == expected[views[sj.backend.id]["state"]], (sj.id, sj.status)
        assert sj.backend.finished_at == pytest.approx(views[sj.backend.id]["finished_at"])
        assert sorted(os.listdir(sj.outputdir)) == ["out_0.dat", "out_1.dat", "stdout"]


def test_2000_subjobs_complete_with_every_output_unpacked(gangadir: str, simgrid: SimGridProcess) -> None:
    from GangaCore.testlib.GangaUnitTest import stop_ganga

    gpi = start(gangadir, simgrid)
    try:
        job = gpi.Job(backend=gpi.SimGrid(), splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(2000)]))
        job.submit()
        assert len({sj.backend.id for sj in job.subjobs}) == 2000
        assert wait_for(lambda: job.status in ("completed", "failed"), timeout=240), job.status
        check_every_subjob_final_with_output(job, simgrid.client())
        assert job.status == "failed"  # 5 % of subjobs fail on the grid, so the master does
    finally:
        stop_ganga()


def test_the_same_backend_under_stock_monitoring(gangadir: str, simgrid: SimGridProcess) -> None:
    from GangaCore.Core.MonitoringComponent.MonitoringService import AsyncMonitoringService
    from GangaCore.testlib.GangaUnitTest import stop_ganga

    gpi = start(gangadir, simgrid, ("Monitoring", "use_stock_monitoring", True))
    try:
        from GangaCore.Core import monitoring_component

        assert type(monitoring_component) is AsyncMonitoringService
        job = gpi.Job(backend=gpi.SimGrid(), splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(100)]))
        job.submit()
        assert wait_for(lambda: job.status in ("completed", "failed"), timeout=120), job.status
        check_every_subjob_final_with_output(job, simgrid.client())
    finally:
        stop_ganga()


def test_kill_and_peek(gangadir: str, simgrid: SimGridProcess) -> None:
    from GangaCore.testlib.GangaUnitTest import stop_ganga

    gpi = start(gangadir, simgrid)
    try:
        killed = gpi.Job(backend=gpi.SimGrid())
        killed.submit()
        killed.kill()
        assert killed.status == "killed"
        assert simgrid.client().status([killed.backend.id])[0]["state"] == "Killed"
        done = gpi.Job(backend=gpi.SimGrid())
        done.submit()
        assert wait_for(lambda: done.status in ("completed", "failed"), timeout=60)
        done.backend.peek("stdout", "cat")
    finally:
        stop_ganga()
