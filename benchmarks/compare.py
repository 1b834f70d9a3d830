"""Stock Ganga monitoring vs GangaMonitoring on the same seeded workload, back to back, in one run.

Each (size, monitoring) pair runs the project's demo in a fresh process (a
real in-process Ganga and the grid simulator on 127.0.0.1), with the same
seed, the same grid (50 ms per request, 8 at once) and the same poll
settings, so the only difference is the monitoring component.  Prints a
table with ratios ours/stock and the targets of issue 7, and writes every
figure as JSON.

    python benchmarks/compare.py                           # 1k and 10k subjobs
    python benchmarks/compare.py --sizes 1000 --plain 500  # plus 500 unsplit jobs
    python benchmarks/compare.py --sizes 50000 --timeout 3600
    python benchmarks/compare.py --compat --sizes 2000 --burst 3000 10000 --plain 5000

``--compat`` measures the path of every backend without a native driver
(LSF, PBS, SGE, Condor, ARC, third-party ones): SimGrid monitored through its
stock ``updateMonitoringInformation``, which asks the grid for the status of
up to 100 jobs a request and, in the same call, downloads each finished
job's output, as Batch- and Dirac-style backends do; masters of 100 subjobs;
[PollThread] 10 s for both monitorings; our concurrency limits adaptive (not
configured).  ``--sizes`` are then *steady* (each job queues from its own
submission, so jobs finish as they are submitted) and ``--burst`` sizes are
held on the grid until all are submitted, then released at once (all finish
within 40 s).

Ganga itself takes ~0.13 s to submit each unsplit job (both monitorings alike;
the demo submits them with ``parallel_submit=False``, since Ganga's default
sleeps 0.25 s in every submit), so the plain sizes cost that much wall time
before monitoring even matters.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

MODES = ("stock", "ours")
SUBMIT_BUDGET_PER_JOB_S = 0.5  # Ganga takes ~0.13 s to submit a plain job, ~0.02 s a subjob
STOP_GRACE_S = 300.0  # for Ganga's stop once the summary is written (see _run_until_summary)
COMPAT_PER_MASTER = 100


def run_one(size: int, plain: bool, stock: bool, args: argparse.Namespace, burst: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gangamon-compare-") as workdir:
        out = os.path.join(workdir, "summary.json")
        # one thread budget for both, and no limit tuned to the simulator (ours adapts its own)
        command = [sys.executable, "-m", "GangaMonitoring.demo", "--jobs", str(size), "--seed", str(args.seed),
                   "--poll-interval", str(args.poll_interval), "--latency", "0.05", "--max-concurrent", "8",
                   "--timeout", str(args.timeout), "--json", out, "--io-limit", "0", "--threads", str(args.threads)]
        if plain:
            command.append("--plain")
        if args.compat:
            command += ["--compat"] + ([] if plain else ["--per-master", str(COMPAT_PER_MASTER)])
        if burst:
            command.append("--burst")
        if args.backend != "SimGrid":
            command += ["--backend", args.backend]
        if args.failure_fraction is not None:
            command += ["--failure-fraction", str(args.failure_fraction)]
        if stock:
            command.append("--stock")
        print(f"$ {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        # a run that hangs (a submit that never returns, say) fails the benchmark instead of stalling it
        budget = args.timeout + SUBMIT_BUDGET_PER_JOB_S * size + 900
        returncode, stdout, stderr, stop_cut = _run_until_summary(command, workdir, out, budget)
        wall = time.monotonic() - started
        _keep_output(args.json, size, plain, stock, stdout, stderr, burst)
        if not os.path.exists(out):
            what = f"was still going after {budget:.0f} s, and was stopped" if returncode is None else \
                f"failed (exit {returncode})"
            raise SystemExit(f"the run {what}:\n{stdout[-3000:]}\n{stderr[-3000:]}")
        with open(out) as handle:
            summary: dict[str, Any] = json.load(handle)
    if stop_cut:
        summary["stop_s"] = None
        summary["stop_cut_after_s"] = STOP_GRACE_S
    summary["wall_s"] = wall
    summary["grid_requests_total"] = sum(v for k, v in summary["grid_requests"].items() if k.startswith("requests "))
    return summary


def _run_until_summary(command: list[str], workdir: str, summary_path: str,
                       budget: float) -> tuple[int | None, str, str, bool]:
    """Run the demo; returns (exit code or None if it was stopped, stdout, stderr, stop cut short).

    The demo writes its summary before it stops Ganga.  Stock Ganga's stop
    finishes every update already queued first (at 10,000 subjobs, over 40
    minutes of downloads, many of them repeats), which is a figure in itself,
    not a reason to wait: a run whose summary exists is given
    ``STOP_GRACE_S`` to stop, then ended.
    """
    with open(os.path.join(workdir, "stdout"), "w+") as out, open(os.path.join(workdir, "stderr"), "w+") as err:
        child = subprocess.Popen(command, cwd=workdir, stdout=out, stderr=err, text=True)
        deadline = time.monotonic() + budget
        summary_seen: float | None = None
        over_budget = cut = False
        while True:
            try:
                child.wait(timeout=1.0)  # returns at once when the run ends
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if summary_seen is None and os.path.exists(summary_path):
                summary_seen = now
            cut = summary_seen is not None and now - summary_seen > STOP_GRACE_S
            over_budget = now > deadline
            if cut or over_budget:
                child.kill()
                child.wait()
                break
        out.seek(0)
        err.seek(0)
        return (None if over_budget and not cut else child.returncode), out.read(), err.read(), cut


def _keep_output(json_path: str, size: int, plain: bool, stock: bool, stdout: str, stderr: str,
                 burst: bool = False) -> None:
    """The run's own output beside the JSON (a stock run's errors go to its stderr, and nowhere else)."""
    stem = os.path.splitext(json_path)[0]
    name = f"{stem}-{size}{'-plain' if plain else ''}{'-burst' if burst else ''}-{'stock' if stock else 'ours'}.log"
    with open(name, "w") as handle:
        handle.write(stdout + "\n--- stderr ---\n" + stderr)


PROMPT_OPERATIONS = ("jobs table", "subjob table", "print(j)", "write j.comment")
"""What the demo times of what a user types (the demo's PromptOperations), each kind apart."""

ROWS: list[tuple[str, Any, str]] = [
    ("jobs final", lambda s: s["final"], "{:.0f}"),
    ("jobs not final at timeout", lambda s: s["not_final"], "{:.0f}"),
    ("lag p50 (s)", lambda s: s["lag_s"]["p50"], "{:.1f}"),
    ("lag p95 (s)", lambda s: s["lag_s"]["p95"], "{:.1f}"),
    ("lag max (s)", lambda s: s["lag_s"]["max"], "{:.1f}"),
    ("drain after last grid finish (s)", lambda s: s["drain_s"], "{:.1f}"),
    ("prompt p50 (ms)", lambda s: s["prompt_latency_ms"]["p50"], "{:.2f}"),
    ("prompt p99 (ms)", lambda s: s["prompt_latency_ms"]["p99"], "{:.1f}"),
    ("prompt max (ms)", lambda s: s["prompt_latency_ms"]["max"], "{:.0f}"),
    *[(f"{kind} {stat} (ms)", lambda s, kind=kind, stat=stat: s.get("prompt_ops_ms", {}).get(kind, {}).get(stat),
       "{:.1f}") for kind in PROMPT_OPERATIONS for stat in ("p50", "max")],
    ("CPU (s)", lambda s: s["cpu_s"], "{:.0f}"),
    ("CPU per job (ms)", lambda s: 1000 * s["cpu_s"] / max(1, s["subjobs"]), "{:.1f}"),
    # a run that left jobs unfinished spent less: per job it brought to a final state is the fair figure
    ("CPU per final job (ms)", lambda s: 1000 * s["cpu_s"] / max(1, s["final"]), "{:.1f}"),
    ("peak RSS (MB)", lambda s: s["peak_rss_mb"], "{:.0f}"),
    ("grid requests", lambda s: s["grid_requests_total"], "{:.0f}"),
    ("  status requests", lambda s: s.get("grid_requests", {}).get("requests status", 0), "{:.0f}"),
    ("  output requests", lambda s: s.get("grid_requests", {}).get("requests output", 0), "{:.0f}"),
    ("Ganga's stop (s)", lambda s: f">{s['stop_cut_after_s']:.0f}" if s.get("stop_cut_after_s") else s.get("stop_s"),
     "{:.1f}"),
    ("wall (s)", lambda s: s["wall_s"], "{:.0f}"),
]


def table(title: str, stock: Runs, ours: Runs) -> str:
    """Stock's and ours' figures and the ratio of their medians; with several runs each cell is the
    median and its range (``1.2 (1.0-1.5)``)."""
    stock_runs, our_runs = as_runs(stock), as_runs(ours)
    width = 10 if len(stock_runs) == len(our_runs) == 1 else 20
    lines = [title + (f" (medians of {len(stock_runs)} and {len(our_runs)} runs, range in brackets)"
                      if width > 10 else ""),
             f"  {'':34} {'stock':>{width}} {'ours':>{width}} {'ours/stock':>11}"]
    for name, get, fmt in ROWS:
        cells, medians = [], []
        for runs in (stock_runs, our_runs):
            values = [get(run) for run in runs]
            numbers = [v for v in values if isinstance(v, (int, float))]
            if len(numbers) != len(values):  # a text (a stop cut short) or a missing figure: the first as it is
                first = values[0]
                cells.append(first if isinstance(first, str) else "n/a")
                medians.append(None)
                continue
            middle = statistics.median(numbers)
            cell = fmt.format(middle)
            if len(numbers) > 1:
                cell += f" ({fmt.format(min(numbers))}-{fmt.format(max(numbers))})"
            cells.append(cell)
            medians.append(middle)
        a, b = medians
        ratio = f"{b / a:.2f}" if a is not None and b is not None and a != 0 else "-"
        lines.append(f"  {name:34} {cells[0]:>{width}} {cells[1]:>{width}} {ratio:>11}")
    return "\n".join(lines)


Runs = dict[str, Any] | list[dict[str, Any]]
"""One run's summary, or the summaries of several runs of the same workload."""


def as_runs(runs: Runs) -> list[dict[str, Any]]:
    return [runs] if isinstance(runs, dict) else list(runs)


def targets_of_runs(check: Any, ours: list[dict[str, Any]], stock: list[dict[str, Any]], *extra: Any) -> str:
    """Each target, met in how many of the runs (run i of ours against run i of stock)."""
    verdicts = [check(mine, theirs, *extra).splitlines() for mine, theirs in zip(ours, stock, strict=True)]
    if len(verdicts) == 1:
        return "\n".join(verdicts[0])
    lines = []
    for rows in zip(*verdicts, strict=True):
        name = rows[0].split("] ", 1)[1]
        met = sum("[met " in row for row in rows)
        lines.append(f"  [met {met}/{len(rows)}] {name}" if met else f"  [MISS 0/{len(rows)}] {name}")
    return "\n".join(lines)


def targets(ours: dict[str, Any], stock: dict[str, Any], poll_interval: float) -> str:
    checks = [
        # with no job final the lags are the empty list's 0.0, which is no evidence of a short lag
        (f"lag p95 <= poll interval + 1 s ({poll_interval + 1:.0f} s)",
         ours["final"] > 0 and ours["lag_s"]["p95"] <= poll_interval + 1),
        ("drain <= 2 s", ours["drain_s"] is not None and ours["drain_s"] <= 2.0),
        ("prompt max <= 50 ms", ours["prompt_latency_ms"]["max"] <= 50.0),
        ("CPU per final job <= stock's",
         ours["cpu_s"] / max(1, ours["final"]) <= stock["cpu_s"] / max(1, stock["final"])),
        ("every job final", ours["not_final"] == 0),
    ]
    return _checked(checks)


def compat_targets(ours: dict[str, Any], stock: dict[str, Any], burst: bool) -> str:
    """Issue 15's targets for the compatibility path, as ratios ours/stock from one run.

    Under a burst stock falls behind and ours must halve its lag and drain;
    in steady work stock sits at the poll interval's floor, which ours must
    match (within 5 %).
    """
    bound = 0.5 if burst else 1.05

    def ratio_ok(get: Any) -> bool:
        mine, theirs = get(ours), get(stock)
        return mine is not None and theirs is not None and mine <= bound * theirs

    checks = [
        (f"lag p95 <= {bound}x stock's", ours["final"] > 0 and ratio_ok(lambda s: s["lag_s"]["p95"])),
        (f"drain <= {bound}x stock's", ratio_ok(lambda s: s["drain_s"])),
        ("output requests <= stock's", ours["grid_requests"].get("requests output", 0)
         <= stock["grid_requests"].get("requests output", 0)),
        ("prompt max <= stock's", ours["prompt_latency_ms"]["max"] <= stock["prompt_latency_ms"]["max"]),
        ("CPU per final job <= stock's",
         ours["cpu_s"] / max(1, ours["final"]) <= stock["cpu_s"] / max(1, stock["final"])),
        ("every job final", ours["not_final"] == 0),
    ]
    return _checked(checks)


def _checked(checks: list[tuple[str, bool]]) -> str:
    return "\n".join(f"  [{'met ' if ok else 'MISS'}] {name}" for name, ok in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000], help="subjobs of one split job")
    parser.add_argument("--plain", type=int, nargs="*", default=[], help="numbers of unsplit jobs")
    parser.add_argument("--burst", type=int, nargs="*", default=[],
                        help="subjobs held on the grid until all are submitted, then released at once")
    parser.add_argument("--compat", action="store_true",
                        help="the compatibility path (see above): masters of 100 subjobs, poll 10 s")
    parser.add_argument("--poll-interval", type=float, default=None, help="[PollThread] rate (default 2 s; "
                                                                          "10 s with --compat)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each workload and monitoring, alternating stock and ours (default 3: the "
                             "table shows medians and ranges)")
    parser.add_argument("--threads", type=int, default=22,
                        help="one thread budget for both (the demo's --threads): stock's update pool, ours' poll + "
                             "io + cpu workers in their default proportions (default 22, ours' default total: stock "
                             "gets 22 update threads, ours its defaults; 0: each its own defaults, stock 5)")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--json", default="results/compare.json")
    parser.add_argument("--failure-fraction", type=float, default=None,
                        help="of grid jobs that fail (default: the demo's 2 %%). With Dirac use 0: GangaDirac's "
                             "submit() fails as a whole when a subjob already failed before the last block was "
                             "submitted")
    parser.add_argument("--backend", choices=("SimGrid", "Dirac"), default="SimGrid",
                        help="Dirac: Ganga's own Dirac backend on the simulated DIRAC (same simulator behind it)")
    args = parser.parse_args()
    if args.poll_interval is None:
        args.poll_interval = 10.0 if args.compat else 2.0
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    results: list[dict[str, Any]] = []
    report = []
    workloads = ([(n, False, False) for n in args.sizes] + [(n, False, True) for n in args.burst]
                 + [(n, True, False) for n in args.plain])
    for size, plain, burst in workloads:
        pair: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
        for _ in range(args.repeat):
            for mode in MODES:
                pair[mode].append(run_one(size, plain, mode == "stock", args, burst))
        kind = "plain jobs" if plain else "subjobs" + (f" in masters of {COMPAT_PER_MASTER}" if args.compat else "")
        title = (f"{size} {kind}{', burst' if burst else ''}{', compatibility path' if args.compat else ''} "
                 f"(poll {args.poll_interval:.0f} s, grid 50 ms x 8, {args.threads or 'default'} threads each)")
        checked = (targets_of_runs(compat_targets, pair["ours"], pair["stock"], burst) if args.compat
                   else targets_of_runs(targets, pair["ours"], pair["stock"], args.poll_interval))
        report.append(table(title, pair["stock"], pair["ours"]) + "\n targets (ours):\n" + checked)
        print(report[-1], flush=True)
        results.append({"size": size, "plain": plain, "burst": burst, "compat": args.compat, "repeat": args.repeat,
                        "threads": args.threads, **pair})
        with open(args.json, "w") as handle:
            json.dump({"poll_interval_s": args.poll_interval, "seed": args.seed, "compat": args.compat,
                       "repeat": args.repeat, "threads": args.threads, "runs": results}, handle, indent=2)
    print("\n\n".join(report))
    print(f"\nfigures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
