"""``ganga-monitoring jobs``: the per-job view from a shell, read from the status file (issue 29, item 4).

A status file a real session wrote is read in tests/ganga/test_job_table.py; here its edges.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from GangaMonitoring.views import status_file
from GangaMonitoring.views.job_table import JobRow

ROWS = [JobRow("3", "sim-long", "running", "SimGrid", "g-17", 75.0, "next poll in 4 s"),
        JobRow("4", "analysis", "failed", "Local", "4242", 3.0, "failed: exit code 1"),
        JobRow("5", "split", "completed", "SimGrid", "", None, "2 completed", None, 2)]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    import GangaMonitoring

    source = str(Path(GangaMonitoring.__file__).resolve().parents[1])  # this tree, whatever PYTHONPATH now says
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "GangaMonitoring.cli", "jobs", *args], capture_output=True,
                          text=True, env=env)


def test_filters_json_and_whose_snapshot(tmp_path: Path) -> None:
    status_file.write(str(tmp_path), "enabled", "", {}, now=1000.0, jobs=[r.as_dict() for r in ROWS])
    result = cli("--gangadir", str(tmp_path), "--status", "failed", "--status", "running,completed",
                 "--backend", "simgrid")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Session pid ") and lines[1].startswith("ID ")
    assert [line.split()[0] for line in lines[2:]] == ["3", "5"]
    rows = json.loads(cli("--gangadir", str(tmp_path), "--json", "--name", "ana").stdout)
    assert rows == [ROWS[1].as_dict()]
    said = cli("--gangadir", str(tmp_path), "--master", "5").stdout
    assert "job 5 is completed: the status file holds the subjobs of unfinished masters only" in said


def test_a_file_without_rows_or_with_a_bad_one_is_one_clear_line(tmp_path: Path) -> None:
    status_file.write(str(tmp_path), "enabled", "", {}, now=1000.0)
    result = cli("--gangadir", str(tmp_path))
    assert result.returncode == 1 and "has no job rows" in result.stderr and "Traceback" not in result.stderr
    status_file.write(str(tmp_path), "enabled", "", {}, now=1000.0, jobs=[{"fqid": "1"}])
    result = cli("--gangadir", str(tmp_path))
    assert result.returncode == 1 and "damaged" in result.stderr and "Traceback" not in result.stderr
    result = cli("--gangadir", str(tmp_path), "--master", "x")
    assert result.returncode == 2 and "usage: ganga-monitoring jobs" in result.stderr
