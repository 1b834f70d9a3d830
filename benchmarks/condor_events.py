"""Condor jobs' ends in Ganga, stock vs ours, on the fake HTCondor: how long after its program each job completes.

Each mode runs in a fresh process with Ganga in it (``GangaMonitoring.embedded``:
temp HOME and gangadir, Ganga's defaults, ``[PollThread]Condor`` 30 s) and the
fake HTCondor of ``GangaMonitoring.testing.fakecondor`` behind Ganga's
``htcondor`` bindings (jobs run at once as local processes, their event logs
written as HTCondor writes them).  It submits ``--jobs`` plain Condor jobs
whose programs sleep ``--run-time MIN MAX`` seconds (seeded), then write their
own end stamp (``$EPOCHREALTIME``), and waits for Ganga to have every job
final.  Per job: the lag from the program's end stamp to Ganga's own record
of the job turning final (``j.time.timestamps['final']``); per run: how many
schedd queries were made (``Schedd.query`` calls: what ``condor_q`` calls
would be), submission included.

- ``stock``: ``[Monitoring]use_stock_monitoring`` True (Ganga's own monitoring);
- ``ours``: GangaMonitoring's, with file events (each job's ``condorLog`` read
  as it grows; an end polls that job, answered from its log);
- ``ours-polling`` (with ``--modes``): ours with ``[Monitoring]file_events = 'off'``.

Printed: a table per mode (the rows of all rounds pooled; queries: the median
run's and all runs'), and with ``--json`` the rows and per-run figures.

    PYTHONPATH=$PWD/src python benchmarks/condor_events.py                  # 20 jobs of 2-10 s, stock then ours
    PYTHONPATH=$PWD/src python benchmarks/condor_events.py --rounds 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from typing import Any

from slurm_wrapper import embedded_ganga, percentile, wait_for_ganga  # a sibling script: benchmarks/ is on sys.path

MODES = ("stock", "ours", "ours-polling")


def submit_and_wait(mode: str, jobs: int, timeout: float, run_time: tuple[float, float]) -> dict[str, Any]:
    """In this process: ``jobs`` Condor jobs through Ganga in ``mode``; each job's program end stamp and Ganga's
    time of it turning final (epoch seconds), and the schedd queries made."""
    from GangaMonitoring import embedded
    from GangaMonitoring.testing import fakecondor

    engine = fakecondor.install()  # before Ganga imports its Condor backend
    with embedded_ganga(mode, "gm-condor") as stamps:
        try:
            from GangaCore.Core import monitoring_component
            from GangaCore.GPI import Condor, Executable, Job

            monitoring_component.enable()
            submitted, sleeps = [], random.Random(1)
            for n in range(jobs):
                seconds = round(sleeps.uniform(*run_time), 1)
                # quoted: Ganga's Condor wrapper joins the program's arguments with blanks
                script = f"'sleep {seconds}; echo $EPOCHREALTIME > {stamps}/{n}'"
                job = Job(application=Executable(exe="/bin/bash", args=["-c", script]), backend=Condor())
                job.parallel_submit = False
                job.submit()
                submitted.append(job)
            finals = wait_for_ganga(submitted, timeout)
            rows = []
            for n in range(jobs):
                with open(os.path.join(stamps, str(n))) as stamp:
                    rows.append({"stamp": float(stamp.read()), "final": finals[n]})
            return {"rows": rows, "queries": engine.queries, "submits": engine.submits}
        finally:
            embedded.stop()


def run_mode(mode: str, jobs: int, timeout: float, run_time: tuple[float, float]) -> dict[str, Any]:
    """One mode in a fresh process (a Ganga start per process, as a user's session)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([sys.executable, __file__, "--child", mode, "--jobs", str(jobs), "--timeout", str(timeout),
                        "--run-time", *map(str, run_time), "--json", out.name],
                       check=True, stdout=subprocess.DEVNULL, timeout=timeout + 300)
        with open(out.name) as written:
            result: dict[str, Any] = json.load(written)
    return result


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Lags of every run's jobs pooled; per run p95 and queries; the median run's queries."""
    lags = [row["final"] - row["stamp"] for run in runs for row in run["rows"]]
    per_run = [{"lag_p95": percentile([r["final"] - r["stamp"] for r in run["rows"]], 0.95),
                "queries": run["queries"]} for run in runs]
    return {"runs": len(runs), "jobs": len(lags), "lag_p50": statistics.median(lags),
            "lag_p95": percentile(lags, 0.95), "lag_max": max(lags),
            "queries_median": statistics.median(run["queries"] for run in runs),
            "queries": [run["queries"] for run in runs], "per_run": per_run}


def table(results: dict[str, list[dict[str, Any]]]) -> str:
    lines = ["| monitoring | runs x jobs | program end -> Ganga's completed p50 / p95 / max (s) "
             "| schedd queries per run: median (each run) |", "|---|---|---|---|"]
    for mode, runs in results.items():
        f = summary(runs)
        lines.append(f"| {mode} | {f['runs']} x {f['jobs'] // f['runs']} | {f['lag_p50']:.1f} / {f['lag_p95']:.1f} / "
                     f"{f['lag_max']:.1f} | {f['queries_median']:.0f} ({', '.join(map(str, f['queries']))}) |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1, help="every mode this many times, in turn")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for one mode's jobs")
    parser.add_argument("--json", help="write the per-job rows and per-run figures here")
    parser.add_argument("--run-time", type=float, nargs=2, default=(2.0, 10.0), metavar=("MIN", "MAX"),
                        help="each program sleeps a (seeded) time in this range")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=["stock", "ours"],
                        help="which monitorings to run, in this order, each round")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = submit_and_wait(args.child, args.jobs, args.timeout, tuple(args.run_time))
        with open(args.json, "w") as out:
            json.dump(result, out)
        return 0
    results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in args.modes}
    for _ in range(args.rounds):
        for mode in args.modes:
            results[mode].append(run_mode(mode, args.jobs, args.timeout, tuple(args.run_time)))
    print(table(results))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"summary": {mode: summary(runs) for mode, runs in results.items()}, "runs": results},
                      out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
