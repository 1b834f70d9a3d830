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
        [sys.executable, "-m", "GangaMonitoring.cli", "demo", "--jobs", "30", "--queue-time", "0", "1",
         "--run-time", "1", "2", "--failure-fraction", "0.1", "--poll-interval", "0.5", "--timeout", "120",
         "--json", str(summary_file)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary = json.loads(summary_file.read_text())
    assert summary["monitoring"] == "MonitoringComponent"
    assert summary["final"] == summary["outputs_retrieved"] == 30
    assert summary["completed"] + summary["failed_on_grid"] == 30 and summary["failed_on_grid"] > 0
    assert 0 <= summary["lag_s"]["p50"] <= summary["lag_s"]["p95"] <= summary["lag_s"]["max"]
    assert summary["prompt_latency_ms"]["max"] > 0
    assert summary["grid_requests"]["requests output"] == 30
    assert "lag from grid finish to Ganga final state" in run.stdout


@pytest.mark.ganga
@pytest.mark.parametrize("monitoring", ["ours", "stock"])
def test_demo_on_gangas_dirac_backend_reports_under_either_monitoring(tmp_path: Path, monitoring: str) -> None:
    """Ganga's Dirac backend on the simulated DIRAC; under stock monitoring GangaDirac takes over
    sys.stdout once its DIRAC process starts, and the demo's report must still reach the terminal."""
    summary_file = tmp_path / "summary.json"
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("X509_USER_PROXY", None)
    run = subprocess.run(
        [sys.executable, "-m", "GangaMonitoring.cli", "demo", "--backend", "Dirac", "--jobs", "12",
         "--queue-time", "0", "1", "--run-time", "1", "2", "--poll-interval", "1", "--timeout", "120",
         "--json", str(summary_file), *(["--stock"] if monitoring == "stock" else [])],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary = json.loads(summary_file.read_text())
    assert summary["backend"] == "Dirac"
    assert summary["monitoring"] == ("MonitoringComponent" if monitoring == "ours" else "AsyncMonitoringService")
    assert summary["final"] == summary["outputs_retrieved"] == summary["completed"] == 12
    assert summary["lag_s"]["max"] > 0
    assert "12/12 subjobs final" in run.stdout and "lag from grid finish to Ganga final state" in run.stdout


def test_stall_watch_records_where_every_thread_is_during_a_stall() -> None:
    import threading
    import time

    from GangaMonitoring.demo import StallWatch

    held = threading.RLock()
    watch = StallWatch(threshold=0.05, locks={"a master's lock": held, "a free lock": threading.RLock()})
    watch.start()
    holder_ready, release = threading.Event(), threading.Event()

    def holder() -> None:
        with held:
            holder_ready.set()
            release.wait(10)

    other = threading.Thread(target=holder, name="lock-holder")
    other.start()
    holder_ready.wait(10)
    with watch.timing("write"):  # the "GPI operation" stalls until the watch has caught it
        deadline = time.monotonic() + 10
        while not watch.reports and time.monotonic() < deadline:
            release.wait(0.01)
    release.set()
    other.join()
    watch.stop()
    [report] = watch.reports
    assert report["kind"] == "write"
    assert report["holders"] == {"a master's lock": "lock-holder"}
    assert report["after_s"] >= 0.05
    assert "test_stall_watch_records" in report["threads"]["MainThread"]
    assert "holder" in report["threads"]["lock-holder"]


def test_one_thread_budget_for_both_monitorings_splits_ours_as_its_defaults() -> None:
    from GangaMonitoring.demo import thread_budget

    assert thread_budget(0) == []  # each its own defaults
    assert dict(((s, o), v) for s, o, v in thread_budget(22)) == {
        ("PollThread", "update_thread_pool_size"): 22, ("Monitoring", "poll_workers"): 12,
        ("Monitoring", "io_workers"): 8, ("Monitoring", "cpu_workers"): 2}  # ours' defaults: 22 threads
    for budget in (3, 5, 12, 40):
        ours = {o: v for s, o, v in thread_budget(budget) if s == "Monitoring"}
        assert sum(ours.values()) == budget and min(ours.values()) >= 1
