"""The demo: a real in-process Ganga with GangaMonitoring, monitoring a split job to the end.

It needs no external service: the jobs run on GangaTest's ``TestSubmitter``
backend (a backend whose jobs finish after a set number of seconds).  While
they are monitored, the main thread does a trivial GPI operation every
100 ms and times it, as a user typing at the prompt would feel it.  At the
end it prints how long Ganga took to notice each finished job (the lag) and
how responsive the "prompt" stayed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timezone
from typing import Any


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
    parser = argparse.ArgumentParser(prog="ganga-monitoring demo", description=__doc__)
    parser.add_argument("--jobs", type=int, default=200, help="subjobs of the demo job (default 200)")
    parser.add_argument("--max-runtime", type=float, default=10.0, help="longest job runtime in s (default 10)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the job runtimes")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds")
    parser.add_argument("--gangadir", help="gangadir to use (default: a temp dir, removed after)")
    parser.add_argument("--json", help="also write the summary as JSON to this file")
    args = parser.parse_args(argv)

    home = tempfile.mkdtemp(prefix="gangamon-demo-home-")
    os.environ["HOME"] = home  # Ganga truncates ~/.ganga.log: keep the user's own untouched
    gangadir = args.gangadir or tempfile.mkdtemp(prefix="gangamon-demo-gangadir-")

    import ganga  # noqa: F401 - puts GangaCore on sys.path
    from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga

    from . import quiet_bare_name_warning

    quiet_bare_name_warning()

    start_ganga(gangadir, extra_opts=[
        ("Configuration", "RUNTIME_PATH", "GangaTest:GangaMonitoring"),
        ("PollThread", "TestSubmitter", 1),
        ("TestingFramework", "AutoCleanup", args.gangadir is None),
    ])
    try:
        summary = _monitor_demo_job(args)
    finally:
        stop_ganga()
        _reap_children()
        shutil.rmtree(home, ignore_errors=True)
        if args.gangadir is None:
            shutil.rmtree(gangadir, ignore_errors=True)
    print(json.dumps(summary, indent=2) if args.json is None else f"summary written to {args.json}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(summary, handle, indent=2)
    return 0 if summary["completed"] == args.jobs else 1


def _monitor_demo_job(args: argparse.Namespace) -> dict[str, Any]:
    from GangaCore import GPI
    from GangaCore.Core import monitoring_component as mc

    rng = random.Random(args.seed)
    runtimes = [rng.randint(1, max(1, int(args.max_runtime))) for _ in range(args.jobs)]  # TestSubmitter takes whole seconds
    job = GPI.Job(name="gangamon-demo", backend=GPI.TestSubmitter(),
                  splitter=GPI.GenericSplitter(attribute="backend.time", values=runtimes))
    print(f"submitting {args.jobs} subjobs (runtimes 1-{args.max_runtime:.0f} s)...", flush=True)
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
            next_report = time.monotonic() + 1.0
        if status in ("completed", "failed", "killed"):
            break
        time.sleep(0.1)
    _report_progress(job, mc)
    lags = _lags(job)
    summary = {
        "backend": "TestSubmitter",
        "subjobs": args.jobs,
        "completed": sum(1 for sj in job.subjobs if sj.status == "completed"),
        "final_status": job.status,
        "lag_s": {"p50": percentile(lags, .5), "p95": percentile(lags, .95), "max": max(lags, default=0.0)},
        "prompt_latency_ms": {
            "p50": 1000 * percentile(prompt_latencies, .5),
            "p99": 1000 * percentile(prompt_latencies, .99),
            "max": 1000 * max(prompt_latencies, default=0.0),
            "mean": 1000 * statistics.fmean(prompt_latencies) if prompt_latencies else 0.0,
        },
        "poll_interval_s": 1,
    }
    print(summarise("lag from finish to Ganga 'completed'", lags))
    print(summarise("prompt latency", [1000 * x for x in prompt_latencies], unit="ms"))
    return summary


def _report_progress(job: Any, mc: Any) -> None:
    counts: dict[str, int] = {}
    for sj in job.subjobs:
        counts[sj.status] = counts.get(sj.status, 0) + 1
    stats = mc.scheduler.statistics(mc.clock.now())
    line = " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
    print(f"  [{job.status}] {line} | queue: {stats}", flush=True)


def _lags(job: Any) -> list[float]:
    """Seconds from each subjob's finish on the backend to Ganga marking it completed."""
    lags = []
    for sj in job.subjobs:
        done = sj.time.timestamps.get("final")  # Ganga stamps final states as "final"
        if sj.status != "completed" or done is None:
            continue
        finished = sj.backend.start_time + sj.backend.time
        lags.append(max(0.0, done.replace(tzinfo=timezone.utc).timestamp() - finished))
    return lags


def _reap_children() -> None:
    import psutil

    for child in psutil.Process().children(recursive=True):
        try:
            child.kill()
        except psutil.Error:
            pass


if __name__ == "__main__":
    sys.exit(run())
