"""The demo (the project's main job) runs end to end in a subprocess and reports real figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.ganga
def test_demo_monitors_every_subjob_to_completed(tmp_path: Path) -> None:
    summary_file = tmp_path / "summary.json"
    env = {**os.environ, "HOME": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "GangaMonitoring.cli", "demo", "--jobs", "20", "--max-runtime", "2",
         "--timeout", "120", "--json", str(summary_file)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary = json.loads(summary_file.read_text())
    assert summary["completed"] == 20 and summary["final_status"] == "completed"
    assert 0 <= summary["lag_s"]["p50"] <= summary["lag_s"]["p95"] <= summary["lag_s"]["max"]
    assert summary["prompt_latency_ms"]["max"] > 0
    assert "lag from finish to Ganga 'completed'" in run.stdout
