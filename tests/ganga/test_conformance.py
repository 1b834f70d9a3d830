"""The driver conformance kit: the same job behaviours, every native driver, the same outcomes.

Each engine says how to make a job that succeeds, one that fails, one that
runs until killed, and a split job; the kit checks what a Ganga user relies on:
final states, outputs in the output directory, a kill that sticks, masters
following their subjobs, and that the engine's native driver did the work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import fake_dirac_at, wait_for
from .test_simgrid import own_simgrid
from .test_slurm import slurm_is_up

pytestmark = pytest.mark.ganga


@dataclass
class Engine:
    name: str
    """The backend's plugin name (and its native driver's key)."""
    options: list[tuple[str, str, Any]]
    make: Callable[[Any, str, dict[str, str]], Any]
    """(GPI, behaviour, servers) -> an unsubmitted job; behaviour: ok, fail, long, split."""
    output_marker: Callable[[int], str]
    """What the stdout of the n-th job (or subjob) of a behaviour contains."""


def _executable(gpi: Any, behaviour: str, backend: Any) -> Any:
    scripts = {"ok": "echo conformance-ok", "fail": "echo conformance-fail; exit 3", "long": "sleep 600"}
    if behaviour == "split":
        return gpi.Job(application=gpi.Executable(exe="/bin/bash"), backend=backend,
                       splitter=gpi.ArgSplitter(args=[["-c", "echo conformance-ok"] for _ in range(3)]))
    return gpi.Job(application=gpi.Executable(exe="/bin/bash", args=["-c", scripts[behaviour]]), backend=backend)


def _local(gpi: Any, behaviour: str, servers: dict[str, str]) -> Any:
    return _executable(gpi, behaviour, gpi.Local())


def _slurm(gpi: Any, behaviour: str, servers: dict[str, str]) -> Any:
    job = _executable(gpi, behaviour, gpi.Slurm())
    job.parallel_submit = False
    return job


def _simgrid(gpi: Any, behaviour: str, servers: dict[str, str]) -> Any:
    server = servers["fail" if behaviour == "fail" else "long" if behaviour == "long" else "ok"]
    if behaviour == "split":
        return gpi.Job(backend=gpi.SimGrid(server=server), splitter=gpi.ArgSplitter(args=[["x"]] * 3))
    return gpi.Job(backend=gpi.SimGrid(server=server))


def _dirac(gpi: Any, behaviour: str, servers: dict[str, str]) -> Any:
    """Ganga's real Dirac backend; the simulated DIRAC sends each behaviour to a site of its own."""
    settings = {"Destination": behaviour} if behaviour in ("fail", "long") else {}
    if behaviour == "split":
        return gpi.Job(backend=gpi.Dirac(), splitter=gpi.ArgSplitter(args=[["x"]] * 3))
    return gpi.Job(backend=gpi.Dirac(settings=settings))


ENGINES = [
    Engine("Local", [("PollThread", "Local", 1)], _local, lambda n: "conformance-ok"),
    Engine("Slurm", [("PollThread", "Slurm", 1), ("Slurm", "heartbeat_frequency", "1")], _slurm,
           lambda n: "conformance-ok"),
    Engine("SimGrid", [("PollThread", "SimGrid", 1)], _simgrid, lambda n: "simulated job"),
    Engine("Dirac", [("PollThread", "Dirac", 1)], _dirac, lambda n: "simulated job"),
]


@contextlib.contextmanager
def simulators(engine: Engine) -> Iterator[dict[str, str]]:
    """SimGrid's and Dirac's behaviours are the grid's: one small simulator per behaviour."""
    if engine.name not in ("SimGrid", "Dirac"):
        yield {}
        return
    quick = ("--queue-time", "0", "0.2", "--run-time", "0.5", "1", "--output-bytes", "64")
    with own_simgrid(*quick) as ok, own_simgrid(*quick, "--failure-fraction", "1.0") as fail, \
            own_simgrid("--queue-time", "0", "0", "--run-time", "600", "600") as long, \
            fake_dirac_at(ok.url, sites={"fail": fail.url, "long": long.url}):
        yield {"ok": ok.url, "fail": fail.url, "long": long.url}


@pytest.mark.parametrize("engine", ENGINES, ids=[e.name for e in ENGINES])
def test_every_native_driver_gives_the_same_outcomes(engine: Engine, gangadir: str) -> None:
    from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga

    from .conftest import ganga_options

    if engine.name == "Slurm" and not slurm_is_up():
        pytest.skip("no Slurm here (see tests/ganga/test_slurm.py)")
    with simulators(engine) as servers:
        start_ganga(gangadir, extra_opts=ganga_options(engine.options))
        try:
            from GangaCore import GPI
            from GangaCore.Core import monitoring_component

            monitoring_component.enable()
            check_outcomes(engine, GPI, servers, monitoring_component)
        finally:
            stop_ganga()


def check_outcomes(engine: Engine, gpi: Any, servers: dict[str, str], component: Any) -> None:
    jobs = {behaviour: engine.make(gpi, behaviour, servers) for behaviour in ("ok", "fail", "long", "split")}
    for job in jobs.values():
        job.submit()
    long = jobs["long"]
    assert wait_for(lambda: long.status in ("submitted", "running"), timeout=60), long.status
    long.kill()
    final = {"ok": "completed", "fail": "failed", "long": "killed", "split": "completed"}
    assert wait_for(lambda: all(jobs[b].status == s for b, s in final.items()), timeout=180), (
        {b: j.status for b, j in jobs.items()})
    assert engine.output_marker(0) in Path(jobs["ok"].outputdir, "stdout").read_text()
    for sub in jobs["split"].subjobs:
        assert sub.status == "completed" and engine.output_marker(sub.id) in Path(sub.outputdir, "stdout").read_text()
    assert engine.name in component.native_drivers, "the engine's native driver did not do the work"
    assert not wait_for(lambda: long.status != "killed", timeout=3)  # a kill sticks: no poll resurrects it
