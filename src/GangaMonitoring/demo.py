"""The demo: a real in-process Ganga with GangaMonitoring monitoring jobs on the built-in grid simulator.

It starts the simulator (a subprocess on 127.0.0.1), starts Ganga with
GangaMonitoring in a temp gangadir and HOME, submits one job split into
``--jobs`` subjobs on the ``SimGrid`` backend, and shows progress while they
are monitored.  Meanwhile the main thread does a trivial GPI operation every
100 ms and times it, as a user at the prompt would feel it.  The summary
says how many subjobs completed, how many outputs were retrieved, how long
Ganga took to notice each job finished on the grid (the lag), and how
responsive the "prompt" stayed.  ``--stock`` runs the same with Ganga's
stock monitoring, for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC
from typing import Any
import contextlib


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[rank]


def summarise(name: str, values: list[float], unit: str = "s") -> str:
    if not values:
        return f"{name}: no data"
    return (f"{name}: p50 {percentile(values, .5):.3f}{unit}  p95 {percentile(values, .95):.3f}{unit}  "
            f"p99 {percentile(values, .99):.3f}{unit}  max {max(values):.3f}{unit}  (n={len(values)})")


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ganga-monitoring demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2000, help="subjobs of the demo job (default 2000)")
    parser.add_argument("--queue-time", type=float, nargs=2, default=(0.0, 10.0), metavar=("MIN", "MAX"))
    parser.add_argument("--run-time", type=float, nargs=2, default=(5.0, 30.0), metavar=("MIN", "MAX"))
    parser.add_argument("--failure-fraction", type=float, default=0.02)
    parser.add_argument("--latency", type=float, default=0.05, help="grid latency per request, s (default 0.05)")
    parser.add_argument("--poll-interval", type=float, default=2.0, help="[PollThread]SimGrid, s (default 2)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulated grid")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    parser.add_argument("--stock", action="store_true", help="use Ganga's stock monitoring instead")
    parser.add_argument("--gangadir", help="gangadir to use (default: a temp dir, removed after)")
    parser.add_argument("--json", help="also write the summary as JSON to this file")
    args = parser.parse_args(argv)

    home = tempfile.mkdtemp(prefix="gangamon-demo-home-")
    os.environ["HOME"] = home  # Ganga truncates ~/.ganga.log: keep the user's own untouched
    gangadir = args.gangadir or tempfile.mkdtemp(prefix="gangamon-demo-gangadir-")

    import ganga  # noqa: F401 - puts GangaCore on sys.path
    from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga

    from . import quiet_bare_name_warning
    from .simulator.process import SimGridProcess

    quiet_bare_name_warning()
    simgrid = SimGridProcess("--seed", str(args.seed), "--latency", str(args.latency), "--max-concurrent", "8",
                             "--queue-time", *map(str, args.queue_time), "--run-time", *map(str, args.run_time),
                             "--failure-fraction", str(args.failure_fraction))
    url = simgrid.start()
    print(f"grid simulator running at {url}", flush=True)
    try:
        start_ganga(gangadir, extra_opts=[
            ("Configuration", "RUNTIME_PATH", "GangaTest:GangaMonitoring"),
            ("PollThread", "SimGrid", args.poll_interval),
            ("SimGrid", "server", url),
            ("Monitoring", "use_stock_monitoring", args.stock),
            # the simulated grid serves 8 requests at once: let downloads use all 8
            ("Monitoring", "backend_concurrency", {"SimGrid": 8}),
            ("TestingFramework", "AutoCleanup", args.gangadir is None),
        ])
        try:
            summary = _monitor_demo_job(args)
            summary["grid_requests"] = simgrid.client().stats()["requests"]
        finally:
            stop_ganga()
            _reap_children(keep=simgrid)
    finally:
        simgrid.stop()
        shutil.rmtree(home, ignore_errors=True)
        if args.gangadir is None:
            shutil.rmtree(gangadir, ignore_errors=True)
    print(json.dumps(summary, indent=2))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(summary, handle, indent=2)
    return 0 if summary["final"] == args.jobs else 1


def _monitor_demo_job(args: argparse.Namespace) -> dict[str, Any]:
    from GangaCore import GPI
    from GangaCore.Core import monitoring_component as mc

    job = GPI.Job(name="gangamon-demo", backend=GPI.SimGrid(),
                  splitter=GPI.ArgSplitter(args=[[str(i)] for i in range(args.jobs)]))
    print(f"submitting {args.jobs} subjobs to the simulated grid...", flush=True)
    started = time.monotonic()
    job.submit()
    print(f"submitted in {time.monotonic() - started:.1f} s; monitoring with {type(mc).__name__}", flush=True)
    mc.enable()

    prompt_latencies: list[float] = []
    deadline = time.monotonic() + args.timeout
    next_report = 0.0
    while time.monotonic() < deadline:
        tick = time.perf_counter()
        status = job.status  # a trivial GPI operation, timed as the prompt would feel it
        prompt_latencies.append(time.perf_counter() - tick)
        if time.monotonic() >= next_report:
            _report_progress(job, mc)
            next_report = time.monotonic() + 2.0
        if status in ("completed", "failed", "killed"):
            break
        time.sleep(0.1)
    _report_progress(job, mc)
    lags = _lags(job)
    counts = _status_counts(job)
    outputs = sum(1 for sj in job.subjobs if os.path.exists(os.path.join(sj.outputdir, "stdout")))
    summary: dict[str, Any] = {
        "monitoring": type(mc).__name__,
        "subjobs": args.jobs,
        "final": counts.get("completed", 0) + counts.get("failed", 0),
        "completed": counts.get("completed", 0),
        "failed_on_grid": counts.get("failed", 0),
        "outputs_retrieved": outputs,
        "master_status": job.status,
        "lag_s": {"p50": percentile(lags, .5), "p95": percentile(lags, .95), "max": max(lags, default=0.0)},
        "prompt_latency_ms": {
            "p50": 1000 * percentile(prompt_latencies, .5),
            "p99": 1000 * percentile(prompt_latencies, .99),
            "max": 1000 * max(prompt_latencies, default=0.0),
            "mean": 1000 * statistics.fmean(prompt_latencies) if prompt_latencies else 0.0,
        },
        "poll_interval_s": args.poll_interval,
        "grid_latency_s": args.latency,
    }
    print(f"\n{summary['final']}/{args.jobs} subjobs final ({summary['completed']} completed, "
          f"{summary['failed_on_grid']} failed on the grid), {outputs} outputs retrieved")
    print(summarise("lag from grid finish to Ganga final state", lags))
    print(summarise("prompt latency", [1000 * x for x in prompt_latencies], unit="ms"))
    return summary


def _status_counts(job: Any) -> dict[str, int]:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    counts: dict[str, int] = {}
    for sj in stripProxy(job).subjobs:  # raw objects: the GPI proxy layer costs 10x per read
        counts[sj.status] = counts.get(sj.status, 0) + 1
    return counts


def _report_progress(job: Any, mc: Any) -> None:
    line = " ".join(f"{k}={v}" for k, v in sorted(_status_counts(job).items()))
    runner = getattr(mc, "runner", None)
    queue = f" | queue: {runner.statistics()}" if runner is not None else ""
    print(f"  [{job.status}] {line}{queue}", flush=True)


def _lags(job: Any) -> list[float]:
    """Seconds from each subjob's end on the grid to Ganga giving it its final state."""
    lags = []
    for sj in job.subjobs:
        noticed = sj.time.timestamps.get("final")  # Ganga stamps final states as "final" (UTC)
        if sj.status not in ("completed", "failed") or noticed is None or not sj.backend.finished_at:
            continue
        lags.append(max(0.0, noticed.replace(tzinfo=UTC).timestamp() - sj.backend.finished_at))
    return lags


def _reap_children(keep: Any) -> None:
    """Kill processes Ganga left behind (Local-backend jobs), not the simulator."""
    import psutil

    spared = {keep._process.pid} if getattr(keep, "_process", None) is not None else set()
    for child in psutil.Process().children(recursive=True):
        if child.pid in spared:
            continue
        with contextlib.suppress(psutil.Error):
            child.kill()


if __name__ == "__main__":
    sys.exit(run())
