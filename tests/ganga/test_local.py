"""Ganga's Local backend through the Local driver: stock behaviour, plus jobs whose process vanished."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import psutil
import pytest

from .conftest import wait_for

pytestmark = pytest.mark.ganga


def kill_9(pids: list[int]) -> None:
    """SIGKILL the job's wrapper processes and everything they started (as the OOM killer might)."""
    victims = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)
            victims += [process, *process.children(recursive=True)]
    for victim in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            os.kill(victim.pid, signal.SIGKILL)


def test_a_local_job_whose_process_was_killed_ends_failed(ganga_session: Any) -> None:
    """Stock Ganga leaves it `running` forever: no exit code is ever written."""
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    gpi = ganga_session
    job = gpi.Job(application=gpi.Executable(exe="sleep", args=["300"]), backend=gpi.Local())
    job.submit()
    assert wait_for(lambda: job.status == "running", timeout=60), job.status
    recorded = stripProxy(job).backend.wrapper_pid
    kill_9([int(p) for p in (recorded if isinstance(recorded, list) else [recorded])] + [int(job.backend.id)])
    assert wait_for(lambda: job.status == "failed", timeout=60), job.status
    why = str(gpi.queues.why(job))
    assert "it failed: its process (pid" in why and "is gone and it wrote no exit code" in why, why


def test_local_jobs_still_go_running_to_completed_with_their_time_stamps(ganga_session: Any) -> None:
    gpi = ganga_session
    job = gpi.Job(application=gpi.Executable(exe="echo", args=["hello"]), backend=gpi.Local())
    job.submit()
    assert wait_for(lambda: job.status == "completed", timeout=60), job.status
    assert "hello" in Path(job.outputdir, "stdout").read_text()
    stamps = job.time.timestamps
    assert {"new", "submitting", "submitted", "running", "final"} <= set(stamps), stamps
    assert "completing" not in stamps
