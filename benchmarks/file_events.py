"""File events, stock vs ours: idle CPU with watching on, and Local program end -> ``completed``.

Each measurement runs in a child process of its own (a real embedded Ganga on a
temp gangadir and HOME, Ganga's default poll rates, ``RUNTIME_PATH=GangaMonitoring``;
stock is ``[Monitoring]use_stock_monitoring=True``):

- ``idle``: no jobs; ``finished``: 1,000 finished jobs in the registry (made ``new`` and
  set ``completed``: what an idle session scans is the registry); ``running``: 50 Local
  jobs sleeping.  The Ganga process's own CPU (user + system, every thread; the jobs'
  processes are not counted) over ``--seconds``, as % of one core;
- ``latency``: ``--jobs`` Local jobs whose programs sleep 2..12 s and write their own end
  stamp; lag = Ganga's ``final`` time stamp of the job minus that stamp, p50 and p95.

``python benchmarks/file_events.py --repeat 3 --seconds 60 --json docs/data/file_events.json``
prints a table of medians (and keeps every run in the JSON).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

CASES = ("idle", "finished", "running", "latency")


def child(case: str, stock: bool, seconds: float, jobs: int) -> dict[str, Any]:
    """One measurement in this process (run as ``--child``)."""
    import ganga  # noqa: F401 - puts GangaCore on sys.path
    import psutil

    from GangaMonitoring import embedded, quiet_bare_name_warning

    quiet_bare_name_warning()
    home = tempfile.mkdtemp(prefix="gm-bench-fe-")
    os.environ["HOME"] = home
    gangadir = os.path.join(home, "gangadir")
    config_file = os.path.join(home, ".gangarc")
    embedded.write_config_file(config_file)
    embedded.start(gangadir, config_file, [("Configuration", "RUNTIME_PATH", "GangaMonitoring"),
                                           ("Monitoring", "use_stock_monitoring", stock)])
    from GangaCore import GPI
    from GangaCore.Core import monitoring_component as mc
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    result: dict[str, Any] = {"case": case, "monitoring": "stock" if stock else "ours"}
    submitted = []
    try:
        if case == "finished":
            for _ in range(1000):
                stripProxy(GPI.Job(application=GPI.Executable(exe="true"), backend=GPI.Local())).status = "completed"
        mc.enable()
        if case == "running":
            for _ in range(50):
                job = GPI.Job(application=GPI.Executable(exe="sleep", args=["100000"]), backend=GPI.Local())
                job.submit()
                submitted.append(job)
            time.sleep(15)  # every job started and seen running
        if case == "latency":
            result.update(_latency(GPI, home, jobs))
        else:
            me = psutil.Process()
            before, wall = me.cpu_times(), time.monotonic()
            time.sleep(seconds)
            after, wall = me.cpu_times(), time.monotonic() - wall
            used = (after.user - before.user) + (after.system - before.system)
            result["cpu_percent"] = 100.0 * used / wall
            result["watches"] = mc.file_events.watches() if hasattr(mc, "file_events") else None
    finally:
        for job in submitted:
            with contextlib.suppress(Exception):  # a benchmark's clean-up goes on
                job.kill()
        embedded.stop()
        shutil.rmtree(home, ignore_errors=True)
    return result


def _latency(gpi: Any, home: str, count: int) -> dict[str, Any]:
    stamps = os.path.join(home, "stamps")
    os.makedirs(stamps)
    jobs = []
    for n in range(count):
        sleep = 2 + (n * 10) / max(1, count - 1)
        script = f"sleep {sleep:.2f}; date +%s.%N > {stamps}/{n}"
        job = gpi.Job(application=gpi.Executable(exe="/bin/sh", args=["-c", script]), backend=gpi.Local())
        job.submit()
        jobs.append(job)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and any(j.status not in ("completed", "failed") for j in jobs):
        time.sleep(0.5)
    lags = []
    for n, job in enumerate(jobs):
        final = job.time.timestamps.get("final")
        if job.status != "completed" or final is None:
            continue
        with open(os.path.join(stamps, str(n))) as stamp:
            ended = float(stamp.read())
        done = final.replace(tzinfo=datetime.UTC).timestamp()
        lags.append(done - ended)
    lags.sort()
    return {"jobs": count, "completed": len(lags), "lag_p50_s": _pct(lags, 50), "lag_p95_s": _pct(lags, 95),
            "lag_max_s": lags[-1] if lags else None}


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--json", default="")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "MONITORING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1] == "stock", args.seconds, args.jobs)))
        return
    runs: list[dict[str, Any]] = []
    for case in args.cases.split(","):
        for _ in range(args.repeat):
            for monitoring in ("stock", "ours"):
                out = subprocess.run([sys.executable, __file__, "--child", case, monitoring, "--seconds",
                                      str(args.seconds), "--jobs", str(args.jobs)],
                                     capture_output=True, text=True, check=False)
                lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
                if not lines:
                    raise SystemExit(f"{case} {monitoring} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
                runs.append(json.loads(lines[-1]))
                print(json.dumps(runs[-1]), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"seconds": args.seconds, "repeat": args.repeat, "runs": runs}, handle, indent=2)
    print(f"\n{'case':<10} {'monitoring':<10} medians of {args.repeat}")
    for case in args.cases.split(","):
        for monitoring in ("stock", "ours"):
            mine = [r for r in runs if r["case"] == case and r["monitoring"] == monitoring]
            if case == "latency":
                figures = {k: statistics.median(r[k] for r in mine if r[k] is not None)
                           for k in ("lag_p50_s", "lag_p95_s", "lag_max_s")}
                print(f"{case:<10} {monitoring:<10} " + "  ".join(f"{k} {v:.2f}" for k, v in figures.items()))
            else:
                print(f"{case:<10} {monitoring:<10} cpu {statistics.median(r['cpu_percent'] for r in mine):.2f} %")


if __name__ == "__main__":
    main()
