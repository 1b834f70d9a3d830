"""Test harness: a temp HOME for every test process, and reaping of job processes.

Ganga reads ``~/.gangarc`` and truncates ``~/.ganga.log`` on every start,
so HOME points at a temp dir before anything imports Ganga.  Local-backend
job processes outlive ``stop_ganga``; they are killed at the end of the
session: descendants of this test process, and processes that left it
(a job in a session of its own whose parent exited) but still carry its
temp HOME.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Any

import pytest

_TEMP_HOME = tempfile.mkdtemp(prefix="gangamon-home-")
os.environ["HOME"] = _TEMP_HOME
os.environ.pop("GANGA_CONFIG_FILE", None)
os.environ.pop("GANGA_CONFIG_PATH", None)
os.environ.pop("GANGA_SITE_CONFIG_AREA", None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reap_children()
    shutil.rmtree(_TEMP_HOME, ignore_errors=True)


def reap_children(timeout: float = 5.0) -> None:
    """Terminate (then kill) every process this test process started and left behind."""
    import psutil

    children = psutil.Process().children(recursive=True)
    known = {child.pid for child in children} | {os.getpid()}
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.pid not in known and process.environ().get("HOME") == _TEMP_HOME:
                children.append(process)  # orphaned: it outlived its parent, in a session of its own
    end_processes(children, timeout)


def end_processes(processes: list[Any], timeout: float) -> None:
    """Terminate ``processes`` (psutil's), then kill those still alive after ``timeout`` seconds."""
    import psutil

    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
