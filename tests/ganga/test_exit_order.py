"""The real ``ganga`` program exiting while monitoring work is in flight.

Ganga's exit functions stop monitoring, then flush and shut down its repositories.  Our patches
(persistence among them) must still be in place for that last flush and come off only after it;
work running at exit is finished within ``[Monitoring]shutdown_timeout`` (and said so), and what a
session leaves is taken up by the next one: every output fetched once, no job left ``completing``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from GangaMonitoring.simulator.process import SimGridProcess

pytestmark = pytest.mark.ganga

SUBJOBS = 6

PROBE = """
import os, time
from GangaCore.Runtime import Repository_runtime
from GangaMonitoring import patches

def say(*parts):
    print(*parts, flush=True)

_shutdown = Repository_runtime.shutdown

def probed_shutdown():  # Ganga's last flush, as its exit functions call it
    say("LAST FLUSH: patches applied", patches.is_applied())
    _shutdown()
    say("AFTER LAST FLUSH: patches applied", patches.is_applied())

Repository_runtime.shutdown = probed_shutdown
"""

FIRST = PROBE + f"""
import GangaCore.Core as core
from GangaMonitoring.core.work import Kind
enableMonitoring()
j = Job(backend=SimGrid(), splitter=ArgSplitter(args=[[str(i)] for i in range({SUBJOBS})]))
j.submit()
deadline = time.time() + 120
while time.time() < deadline and not any(op.kind is Kind.RETRIEVE for op in core.monitoring_component.runner.running()):
    time.sleep(0.02)
say("IN FLIGHT AT EXIT", sorted(op.kind.value for op in core.monitoring_component.runner.running()))
"""

SECOND = PROBE + """
enableMonitoring()
j = jobs(0)
deadline = time.time() + 120
while time.time() < deadline and j.status not in ("completed", "failed"):
    time.sleep(0.1)
say("STATUSES", sorted(set(sj.status for sj in j.subjobs)), j.status)
say("OUTPUTS", sum(os.path.exists(os.path.join(sj.outputdir, "stdout")) for sj in j.subjobs))
"""


@pytest.fixture
def slow_grid() -> Iterator[SimGridProcess]:
    """A grid whose every answer takes 1.5 s, so retrievals are in flight when the first session exits."""
    grid = SimGridProcess("--queue-time", "0", "0", "--run-time", "0.2", "0.5", "--failure-fraction", "0",
                          "--latency", "1.5", "--seed", "3")
    grid.start()
    yield grid
    grid.stop()


def run_ganga(home: Path, url: str, script: str) -> str:
    (home / "script.py").write_text(script)
    ganga = Path(sys.executable).with_name("ganga")
    run = subprocess.run([str(ganga), "--config", str(home / ".gangarc"),
                          "-o[Configuration]RUNTIME_PATH=GangaMonitoring", f"-o[SimGrid]server={url}",
                          "-o[PollThread]SimGrid=1", "-o[Monitoring]first_poll_delay=0.2",
                          str(home / "script.py")],
                         capture_output=True, text=True, timeout=600, env={**os.environ, "HOME": str(home)},
                         stdin=subprocess.DEVNULL, cwd=home)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    return output


def test_exit_with_retrievals_in_flight_loses_nothing_and_unpatches_after_the_last_flush(
        tmp_path: Path, slow_grid: SimGridProcess) -> None:
    (tmp_path / ".gangarc").write_text(f"# Ganga configuration file ($Name: 8.7.12 $)\n"
                                       f"[Configuration]\ngangadir = {tmp_path / 'gangadir'}\n")
    url = slow_grid.url
    assert url is not None

    first = run_ganga(tmp_path, url, FIRST)
    assert "IN FLIGHT AT EXIT" in first and "'retrieve'" in first, first[-4000:]
    assert "LAST FLUSH: patches applied True" in first, first[-4000:]
    assert "AFTER LAST FLUSH: patches applied False" in first, first[-4000:]
    assert "waiting for" in first and "monitoring operation" in first, first[-4000:]

    second = run_ganga(tmp_path, url, SECOND)
    assert "STATUSES ['completed'] completed" in second, second[-4000:]
    assert f"OUTPUTS {SUBJOBS}" in second, second[-4000:]
    assert "LAST FLUSH: patches applied True" in second
    # each output was fetched from the grid once, across both sessions
    assert slow_grid.client().stats()["requests"]["requests output"] == SUBJOBS
