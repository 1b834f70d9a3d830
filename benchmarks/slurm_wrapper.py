"""Ganga's batch job wrapper vs ours on the real Slurm: how long a batch job outlives its program.

Each mode submits ``--jobs`` plain Slurm jobs of ``sleep 1`` (then the program
writes its own end stamp, ``$EPOCHREALTIME``) from a fresh process running
Ganga in-process (``GangaMonitoring.embedded``: temp HOME and gangadir, Ganga's
default ``[Slurm]heartbeat_frequency`` of 30 s):

- ``stock``: ``[Monitoring]use_stock_monitoring`` True, so none of our patches,
  and the Batch backends submit Ganga's own wrapper (poll, then sleep a heartbeat);
- ``ours``: GangaMonitoring's component, whose patches item 19 makes the wrapper
  wait on its program;
- ``ours-polling`` (with ``--modes``): ours with ``[Monitoring]file_events = 'off'``,
  as on a network file system: jobs' ends are found by the periodic poll alone,
  timed by the adaptive cadence (``[Monitoring]poll_cadence``, its default);
- ``ours-polling-fixed``: the same with ``poll_cadence = 'fixed'`` (every interval).

``--split`` makes the jobs the subjobs of one split job (an ``ArgSplitter``),
each with its own seeded run time, instead of plain jobs.

Ganga is stopped once the jobs are submitted (the wrapper does not depend on
monitoring); the process then waits for Slurm to say every job ended, reading
``squeue -t all`` every 2 s (a few requests to slurmctld, not a poll that could
disturb another benchmark), and takes each job's StartTime/EndTime from it.
Slurm gives whole seconds (its EndTime is the second the job ended in), so
each lag is taken as the middle of that second - the program's end stamp,
within 0.5 s of the true lag.  Printed per mode: lag p50,
p95 and max, the slot-seconds each job held (End - Start) and what the
wrapper's lag costs per 10,000 jobs; then the slot-seconds saved.

With ``--until completed`` the session keeps running with monitoring enabled
(each mode's own: Ganga's stock monitoring, or ours with its file events), the
programs run ``--run-time MIN MAX`` seconds (seeded), and each lag is the time
from the program's end stamp to Ganga's own record of the job turning final
(``j.time.timestamps['final']``, written by Ganga's status setter in both modes):
what a user waits for.  slurmctld's REQUEST_JOB_INFO count (``sdiag``, the
queries ``squeue`` makes) is read before and after each mode: run it alone.

    PYTHONPATH=$PWD/src python benchmarks/slurm_wrapper.py              # 20 jobs each, stock then ours
    PYTHONPATH=$PWD/src python benchmarks/slurm_wrapper.py --rounds 2 --json out.json
    PYTHONPATH=$PWD/src python benchmarks/slurm_wrapper.py --until completed --run-time 5 40
    PYTHONPATH=$PWD/src python benchmarks/slurm_wrapper.py --until completed --run-time 5 40 --jobs 40 --split \
        --modes stock ours-polling ours-polling-fixed
"""

from __future__ import annotations

import argparse
import calendar
import contextlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

MODES = ("stock", "ours", "ours-polling", "ours-polling-fixed")


@contextlib.contextmanager
def embedded_ganga(mode: str, prefix: str) -> Iterator[str]:
    """Ganga started in this process in ``mode`` (temp HOME and gangadir, Ganga's defaults, our runtime package;
    ``stock``: its stock monitoring, ``ours-polling``: ours with file events off, ``ours-polling-fixed``: and
    a fixed poll cadence); yields a directory for the
    programs' end stamps.  The caller stops Ganga (``embedded.stop()``) while the directory still exists."""
    import ganga  # noqa: F401 - puts GangaCore on sys.path

    from GangaMonitoring import embedded, quiet_bare_name_warning

    # a thread of Ganga's may still write in the gangadir after its stop: the directory goes as far as it can
    with tempfile.TemporaryDirectory(prefix=f"{prefix}-{mode}-", ignore_cleanup_errors=True) as workdir:
        os.environ["HOME"] = workdir  # Ganga truncates ~/.ganga.log: keep the user's own untouched
        config_file, stamps = os.path.join(workdir, "gangarc"), os.path.join(workdir, "stamps")
        os.mkdir(stamps)
        quiet_bare_name_warning()
        embedded.write_config_file(config_file)
        embedded.start(os.path.join(workdir, "gangadir"), config_file, [
            ("Configuration", "RUNTIME_PATH", "GangaMonitoring"),
            ("Monitoring", "use_stock_monitoring", mode == "stock"),
            *([("Monitoring", "file_events", "off")] if mode.startswith("ours-polling") else []),
            *([("Monitoring", "poll_cadence", "fixed")] if mode == "ours-polling-fixed" else []),
        ])
        yield stamps


def submit_and_wait(mode: str, jobs: int, timeout: float, until: str = "slurm-end",
                    run_time: tuple[float, float] = (1.0, 1.0), split: bool = False,
                    polls: list[dict[str, Any]] | None = None) -> list[dict[str, float]]:
    """In this process: submit ``jobs`` jobs through Ganga in ``mode``; per job its program's end stamp and
    either Slurm's start and end (``until='slurm-end'``: Ganga stopped once they are submitted) or Ganga's time
    of the job turning final (``until='completed'``: monitoring on until every job is final), epoch seconds.
    ``polls``: each periodic poll of Slurm ours made is appended to it (:func:`record_polls`)."""
    from GangaMonitoring import embedded

    polls = [] if polls is None else polls
    with embedded_ganga(mode, "gm-wrapper") as stamps:
        try:
            from GangaCore.GPI import Executable, Job, Slurm

            if until == "completed":
                from GangaCore.Core import monitoring_component

                monitoring_component.enable()
                if mode != "stock":
                    record_polls(monitoring_component, polls)
            ids, submitted, sleeps = [], [], random.Random(1)
            programs = [f"sleep {round(sleeps.uniform(*run_time), 1)}; echo $EPOCHREALTIME > {stamps}/{n}"
                        for n in range(jobs)]
            if split:
                from GangaCore.GPI import ArgSplitter

                master = Job(application=Executable(exe="/bin/bash"), backend=Slurm(),
                             splitter=ArgSplitter(args=[["-c", program] for program in programs]))
                master.parallel_submit = False
                master.submit()
                submitted = list(master.subjobs)
                ids = [str(sj.backend.id) for sj in submitted]
            for program in [] if split else programs:
                job = Job(application=Executable(exe="/bin/bash", args=["-c", program]), backend=Slurm())
                job.parallel_submit = False  # Ganga's parallel submit sleeps per job
                job.submit()
                ids.append(str(job.backend.id))
                submitted.append(job)
            if until == "completed":
                finals = wait_for_ganga(submitted, timeout)
                return [{"stamp": float(open(os.path.join(stamps, str(n))).read()), "final": finals[n]}
                        for n in range(jobs)]
        finally:
            embedded.stop()
        ends = wait_for_slurm(ids, timeout)
        return [{"stamp": float(open(os.path.join(stamps, str(n))).read()), **ends[job_id]}
                for n, job_id in enumerate(ids)]


def record_polls(component: Any, polls: list[dict[str, Any]]) -> None:
    """Append each periodic poll of Slurm to ``polls``: when it began (epoch seconds) and why it was due then
    (the adaptive cadence's reason, or "the interval")."""
    planned: dict[float, str] = {}
    due, ended = component.polling.periodic_due, component.polling.on_periodic_poll

    def record_due(backend: str, now: float, last: float, interval: float) -> float:
        at = due(backend, now, last, interval)
        plan = component.cadence._planned.get(backend)
        planned[last] = plan.why if plan is not None and abs(plan.at - at) < 1e-6 else "the interval"
        return at

    def record_poll(backend: str, started: float) -> None:
        ended(backend, started)
        if backend == "Slurm":
            why = planned.get(polls[-1]["clock"], "the interval") if polls else "the first look"
            polls.append({"clock": started, "at": time.time() - (component.clock.now() - started), "why": why})

    component.polling.periodic_due, component.polling.on_periodic_poll = record_due, record_poll


def wait_for_ganga(jobs: list[Any], timeout: float) -> list[float]:
    """Ganga's own time (epoch seconds) of each job turning final, once all are final (an error if one is not
    ``completed``)."""
    deadline = time.monotonic() + timeout
    while not all(job.status in ("completed", "failed", "killed") for job in jobs):
        if time.monotonic() > deadline:
            raise TimeoutError(f"jobs not final after {timeout} s: {[job.status for job in jobs]}")
        time.sleep(1.0)
    failed = {job.id: job.status for job in jobs if job.status != "completed"}
    if failed:
        raise RuntimeError(f"jobs that did not complete: {failed}")
    return [calendar.timegm(job.time.timestamps["final"].timetuple()) + job.time.timestamps["final"].microsecond / 1e6
            for job in jobs]


def job_info_requests() -> int:
    """slurmctld's count of REQUEST_JOB_INFO (each ``squeue``), from ``sdiag``."""
    answer = subprocess.run(["sdiag"], capture_output=True, text=True, timeout=60, check=True).stdout
    found = re.search(r"REQUEST_JOB_INFO\s+\(\s*\d+\)\s+count:(\d+)", answer)
    return int(found.group(1)) if found else 0


def wait_for_slurm(ids: list[str], timeout: float) -> dict[str, dict[str, float]]:
    """Slurm's start and end of each job of ``ids``, once all are COMPLETED (or FAILED: an error, raised)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = subprocess.run(["squeue", "-h", "-t", "all", "-j", ",".join(ids), "-o", "%i %T %S %e"],
                              capture_output=True, text=True, timeout=60, check=True).stdout.split("\n")
        known = {fields[0]: fields[1:] for fields in (row.split() for row in rows) if len(fields) == 4}
        if all(known.get(job_id, ["?"])[0] in ("COMPLETED", "FAILED", "CANCELLED") for job_id in ids):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"jobs not ended after {timeout} s: {known}")
        time.sleep(2.0)
    failed = {job_id: known[job_id][0] for job_id in ids if known[job_id][0] != "COMPLETED"}
    if failed:
        raise RuntimeError(f"jobs that did not complete: {failed}")
    return {job_id: {"start": _epoch(known[job_id][1]), "end": _epoch(known[job_id][2])} for job_id in ids}


def _epoch(slurm_time: str) -> float:
    return time.mktime(time.strptime(slurm_time, "%Y-%m-%dT%H:%M:%S"))


def run_mode(mode: str, jobs: int, timeout: float, until: str = "slurm-end",
             run_time: tuple[float, float] = (1.0, 1.0), split: bool = False, run: int = 0) -> list[dict[str, Any]]:
    """One mode in a fresh process (a Ganga start per process, as a user's session); each row also holds its
    share of the REQUEST_JOB_INFO count slurmctld served during the run (``job_info``: the rows sum to it) and
    the run's number; the first row of an ours run also its periodic polls of Slurm (``record_polls``)."""
    before = job_info_requests()
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([sys.executable, __file__, "--child", mode, "--jobs", str(jobs), "--timeout", str(timeout),
                        "--until", until, "--run-time", *map(str, run_time), "--json", out.name,
                        *(["--split"] if split else [])],
                       check=True, stdout=subprocess.DEVNULL, timeout=timeout + 300)
        with open(out.name) as written:
            child = json.load(written)
    result: list[dict[str, Any]] = child["rows"]
    requests = job_info_requests() - before
    polls = child["polls"]
    return [{**row, "job_info": requests / len(result), "run": run,
             **({"polls": polls} if n == 0 and polls else {})} for n, row in enumerate(result)]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def completed_summary(rows: list[dict[str, float]]) -> dict[str, float]:
    lags = [row["final"] - row["stamp"] for row in rows]
    return {"jobs": len(rows), "lag_p50": statistics.median(lags), "lag_p95": percentile(lags, 0.95),
            "lag_max": max(lags), "job_info": sum(row["job_info"] for row in rows)}


def completed_table(results: dict[str, list[dict[str, float]]]) -> str:
    lines = ["| monitoring | jobs | program end -> Ganga's completed p50 / p95 / max (s) | squeue requests "
             "(slurmctld REQUEST_JOB_INFO) |", "|---|---|---|---|"]
    for mode, rows in results.items():
        f = completed_summary(rows)
        lines.append(f"| {mode} | {f['jobs']} | {f['lag_p50']:.1f} / {f['lag_p95']:.1f} / {f['lag_max']:.1f} "
                     f"| {f['job_info']:.0f} |")
    for mode, rows in results.items():
        for row in rows:
            if row.get("polls"):
                first = row["polls"][0]["at"]
                lines.append(f"{mode} run {row['run']}: periodic polls of Slurm at " + ", ".join(
                    f"+{p['at'] - first:.1f} s ({p['why']})" for p in row["polls"]))
    return "\n".join(lines)


def summary(rows: list[dict[str, float]]) -> dict[str, float]:
    lags = [row["end"] + 0.5 - row["stamp"] for row in rows]  # the middle of Slurm's whole second
    held = [row["end"] - row["start"] for row in rows]
    return {"jobs": len(rows), "lag_p50": statistics.median(lags), "lag_p95": percentile(lags, 0.95),
            "lag_max": max(lags), "held_p50": statistics.median(held), "held_sum": sum(held),
            "lag_sum": sum(lags), "lag_hours_per_10k": statistics.fmean(lags) * 10_000 / 3600}


def table(results: dict[str, list[dict[str, float]]]) -> str:
    lines = ["| wrapper | jobs | program end -> Slurm end p50 / p95 / max (s) | slot held per job p50 (s) "
             "| slot-s held, all | slot-h per 10k jobs after the program |",
             "|---|---|---|---|---|---|"]
    figures = {mode: summary(rows) for mode, rows in results.items()}
    for mode, f in figures.items():
        lines.append(f"| {mode} | {f['jobs']} | {f['lag_p50']:.1f} / {f['lag_p95']:.1f} / {f['lag_max']:.1f} "
                     f"| {f['held_p50']:.0f} | {f['held_sum']:.0f} | {f['lag_hours_per_10k']:.1f} |")
    if {"stock", "ours"} <= figures.keys():
        stock, ours = figures["stock"], figures["ours"]
        saved = stock["held_sum"] / stock["jobs"] - ours["held_sum"] / ours["jobs"]
        lines.append(f"\nslot-seconds saved per job: {saved:.1f} s ({saved * 10_000 / 3600:.0f} slot-hours per "
                     f"10,000 jobs); held per job {ours['held_sum'] / ours['jobs']:.1f} s vs "
                     f"{stock['held_sum'] / stock['jobs']:.1f} s")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1, help="stock then ours, this many times (rows pooled)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for one mode's jobs")
    parser.add_argument("--json", help="write the per-job rows here")
    parser.add_argument("--until", choices=("slurm-end", "completed"), default="slurm-end",
                        help="measure to Slurm's end of each job (the wrapper alone) or to Ganga's completed")
    parser.add_argument("--run-time", type=float, nargs=2, default=(1.0, 1.0), metavar=("MIN", "MAX"),
                        help="each program sleeps a (seeded) time in this range")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=["stock", "ours"],
                        help="which monitorings to run, in this order, each round")
    parser.add_argument("--split", action="store_true", help="the jobs are the subjobs of one split job")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        polls: list[dict[str, Any]] = []
        rows = submit_and_wait(args.child, args.jobs, args.timeout, args.until, tuple(args.run_time), args.split,
                               polls)
        with open(args.json, "w") as out:
            json.dump({"rows": rows, "polls": polls}, out)
        return 0
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in args.modes}
    for run in range(args.rounds):
        for mode in args.modes:
            results[mode] += run_mode(mode, args.jobs, args.timeout, args.until, tuple(args.run_time), args.split,
                                      run)
    print(completed_table(results) if args.until == "completed" else table(results))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
