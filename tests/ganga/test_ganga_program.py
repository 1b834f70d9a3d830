"""The real ``ganga`` program, as a user runs it: enabling the package prints no warning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.ganga

SCRIPT = """
import GangaCore.Core as core
print("COMPONENT", type(core.monitoring_component).__name__)
j = Job(backend=TestSubmitter(time=0))
j.submit()
print("POLLED", runMonitoring(jobs=j, timeout=60), j.status)
"""


def run_ganga(home: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """Run ``ganga`` on SCRIPT with a fresh HOME (no first-run wizard: the version is known)."""
    (home / ".gangarc").write_text(f"# Ganga configuration file ($Name: 8.7.12 $)\n"
                                   f"[Configuration]\ngangadir = {home / 'gangadir'}\n")
    (home / ".cache" / "Ganga").mkdir(parents=True)
    (home / ".cache" / "Ganga" / ".used_versions").write_text("8.7.12\n")
    script = home / "script.py"
    script.write_text(SCRIPT)
    ganga = Path(sys.executable).with_name("ganga")
    return subprocess.run([str(ganga), *options, str(script)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HOME": str(home)}, stdin=subprocess.DEVNULL, cwd=home)


def test_ganga_with_the_package_enabled_on_the_command_line(tmp_path: Path) -> None:
    run = run_ganga(tmp_path, "-o[Configuration]RUNTIME_PATH=GangaTest:GangaMonitoring")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert "COMPONENT MonitoringComponent" in output
    assert "POLLED True completed" in output
    assert [line for line in output.splitlines() if "WARNING" in line or "ERROR" in line] == []


def test_ganga_without_the_package_is_stock(tmp_path: Path) -> None:
    run = run_ganga(tmp_path, "-o[Configuration]RUNTIME_PATH=GangaTest")
    output = run.stdout + run.stderr
    assert "COMPONENT AsyncMonitoringService" in output, output[-3000:]
    assert "GangaMonitoring" not in output
