"""kill -9 of a Ganga session in the middle of retrieving and finalising outputs, then a restart."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import fake_dirac_at, ganga_running, wait_for
from .test_simgrid import check_every_subjob_final_with_output, ganga_on, own_simgrid

pytestmark = pytest.mark.ganga

SUBJOBS = 40
IO_LIMIT = 2  # backend_concurrency of SimGrid in the child: downloads at once


def kill_when_finalising(child: subprocess.Popen[str]) -> dict[str, int]:
    """Read the child's state lines; SIGKILL it while outputs are being retrieved and finalised,
    at least two of its registry flushes (every 1 s) after the first job completed.  A line that
    Ganga's log (on the same stdout) broke into is skipped: it does not end in `` .``."""
    assert child.stdout is not None
    first_completed = None
    for line in child.stdout:
        match = re.search(r"states ((?:[a-z]+=\d+ )*)\.$", line)
        if not match:
            continue
        counts = {k: int(v) for k, v in (item.split("=") for item in match.group(1).split())}
        if counts.get("completed", 0) and first_completed is None:
            first_completed = time.monotonic()
        if first_completed is not None and time.monotonic() - first_completed > 2.2 \
                and counts.get("completing", 0) >= 3:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(30)
            return counts
    raise AssertionError(f"the child ended (exit {child.wait()}) before finalising anything")


def release_dead_session_locks(gangadir: str) -> None:
    """Remove the killed session's lock files, as Ganga does itself for a session silent for
    longer than its DiskIOTimeout (45 s) and as its error message asks for the ``*_fixed_lock``
    files, so that the next session owns the jobs at once.  No other session is alive here."""
    for path in glob.glob(os.path.join(gangadir, "repository", "*", "*", "*", "sessions", "*")):
        os.remove(path)


@pytest.mark.parametrize("backend", ["SimGrid", "Dirac"])
def test_kill_9_mid_finalisation_then_restart_finishes_every_job_fetching_no_output_twice(
        gangadir: str, backend: str) -> None:
    with own_simgrid("--queue-time", "0", "0.5", "--run-time", "1", "4", "--output-bytes", "20000",
                     "--latency", "0.2") as grid, fake_dirac_at(grid.url):
        child = subprocess.Popen([sys.executable, str(Path(__file__).with_name("crash_child.py")), gangadir,
                                  grid.url, str(SUBJOBS), backend], stdout=subprocess.PIPE, text=True,
                                 start_new_session=True)
        try:
            at_kill = kill_when_finalising(child)
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
        fetched_before = grid.client().stats()["requests"].get("requests output", 0)
        release_dead_session_locks(gangadir)
        with restarted(gangadir, grid, backend) as gpi:
            [job] = gpi.jobs
            assert wait_for(lambda: job.status in ("completed", "failed"), timeout=120), (
                job.status, at_kill, [sj.status for sj in job.subjobs])
            if backend == "SimGrid":
                check_every_subjob_final_with_output(job, grid.client())
            else:
                check_every_dirac_subjob_final_with_output(job, grid.client())
        fetched = grid.client().stats()["requests"].get("requests output", 0)
    # Each output once, but for downloads cut mid-way by the kill (at most IO_LIMIT at a time).
    assert SUBJOBS <= fetched <= SUBJOBS + IO_LIMIT, (fetched, fetched_before, at_kill)


@contextlib.contextmanager
def restarted(gangadir: str, grid: Any, backend: str) -> Iterator[Any]:
    """The next session on the killed session's gangadir."""
    if backend == "SimGrid":
        with ganga_on(gangadir, grid) as gpi:
            yield gpi
        return
    with ganga_running(gangadir, [("PollThread", "Dirac", 1)]) as gpi:
        yield gpi


def check_every_dirac_subjob_final_with_output(job: Any, grid: Any) -> None:
    """The simulated DIRAC's default site: a DIRAC id is the simulator's id."""
    views = {v["id"]: v for v in grid.status(sj.backend.id for sj in job.subjobs)}
    for sj in job.subjobs:
        state = views[sj.backend.id]["state"]
        assert sj.status == {"Done": "completed", "Failed": "failed"}[state], (sj.id, sj.status)
        assert f"ended {state}" in Path(sj.outputdir, "stdout").read_text()
