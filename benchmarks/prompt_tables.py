"""What a user types at the prompt while monitoring works, stock vs ours: issue 32's five operations.

Each run is the project's demo in a fresh process (a real in-process Ganga
and the grid simulator on 127.0.0.1), split into masters of ``--per-master``
subjobs (1,000 by default, so a master's subjob table has 1,000 rows), which
times once a second, round robin, each kind apart while monitoring works:

- ``jobs table``: ``jobs`` as the prompt shows it (``_display(True)``);
- ``subjob table``: ``j.subjobs`` of the first master;
- ``print(j)``: the first master printed;
- ``write j.comment``: ``j.comment = ...`` on the first master;

and every 100 ms a status read (``j.status``: ``status read`` below).  Prints
p50 and max of each kind, the median over ``--repeat`` runs, and writes every
run's figures as JSON.

    python benchmarks/prompt_tables.py --sizes 3000 --burst             # native path, ours and stock
    python benchmarks/prompt_tables.py --sizes 3000 10000 --compat --modes ours --repeat 1

The native path is SimGrid's own driver (poll 2 s); ``--compat`` is SimGrid
monitored through its stock ``updateMonitoringInformation`` (poll 10 s), the
path of every backend without a native driver.  ``--burst`` holds the jobs on
the grid until all are submitted, then releases them at once.  The issue's
targets (ours): jobs table p50 <= 30 ms and max <= 1.5x its p50; subjob table
max <= 1.5x its p50; writes max <= 20 ms; reads max <= 10 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import _keep_output, _run_until_summary  # noqa: E402 - the benchmark beside this one

KINDS = ("jobs table", "subjob table", "print(j)", "write j.comment", "status read")
WHY = ("cpu_p50", "slowest_cpu", "slowest_collector", "collector_max", "samples")
"""Per kind (ms): the prompt thread's CPU time, median and in the slowest operation; the collector's time in the
slowest, and its most in any one; every operation's [wall, CPU, collector, the other threads' CPU] and its
[voluntary, involuntary] context switches.  A slow operation's wall time beyond its CPU and collector time was
a wait: for the GIL or a lock (voluntary switches, other threads' CPU), or a core (involuntary switches)."""


def run_one(size: int, stock: bool, args: argparse.Namespace) -> dict[str, Any]:
    """One demo run; returns its summary (the demo's JSON) with ``ops``: kind -> {p50, max, n} in ms."""
    with tempfile.TemporaryDirectory(prefix="gangamon-prompt-") as workdir:
        out = os.path.join(workdir, "summary.json")
        command = [sys.executable, "-m", "GangaMonitoring.demo", "--jobs", str(size), "--seed", str(args.seed),
                   "--per-master", str(args.per_master), "--poll-interval", str(args.poll_interval),
                   "--latency", "0.05", "--max-concurrent", "8", "--timeout", str(args.timeout), "--json", out,
                   "--io-limit", "0", "--threads", str(args.threads)]
        command += (["--compat"] if args.compat else []) + (["--burst"] if args.burst else [])
        command += ["--stock"] if stock else []
        command += ["--stall-report-after", str(args.stall_report_after), "--floor-ops", str(args.floor_ops)]
        print(f"$ {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        returncode, stdout, stderr, _cut = _run_until_summary(command, workdir, out, args.timeout + 0.5 * size + 900)
        _keep_output(args.json, size, False, stock, stdout, stderr, args.burst)
        if not os.path.exists(out):
            raise SystemExit(f"the run failed (exit {returncode}):\n{stdout[-3000:]}\n{stderr[-3000:]}")
        with open(out) as handle:
            summary: dict[str, Any] = json.load(handle)
    summary["wall_s"] = time.monotonic() - started
    ops = {kind: {"p50": v["p50"], "max": v["max"], "n": v["n"], **{k: v.get(k) for k in WHY}}
           for kind, v in summary["prompt_ops_ms"].items()}
    read = summary["prompt_latency_ms"]
    ops["status read"] = {"p50": read["p50"], "max": read["max"], "n": None}
    summary["ops"] = ops
    summary["floor"] = {kind: {"p50": v["p50"], "max": v["max"], "n": v["n"], "samples": v.get("samples")}
                        for kind, v in (summary.get("prompt_floor_ms") or {}).items()}
    return summary


def table(title: str, runs: dict[str, list[dict[str, Any]]]) -> str:
    """p50 and max of each kind per monitoring, medians over the runs (range in brackets)."""
    modes = [m for m in ("stock", "ours") if runs.get(m)]
    lines = [title, f"  {'':18}" + "".join(f" {m + ' p50':>20} {m + ' max':>20}" for m in modes)]
    for kind in KINDS:
        cells = []
        for mode in modes:
            for stat in ("p50", "max"):
                values = [r["ops"][kind][stat] for r in runs[mode] if kind in r["ops"]]
                cell = "n/a" if not values else f"{statistics.median(values):.1f}"
                if len(values) > 1:
                    cell += f" ({min(values):.1f}-{max(values):.1f})"
                cells.append(f" {cell:>20}")
        lines.append(f"  {kind + ' (ms)':18}" + "".join(cells))
    for mode in modes:
        floors = [r["floor"] for r in runs[mode] if r.get("floor")]
        if floors:
            lines.append(f"  {mode}, the same operations once every job was final (monitoring idle), p50 / max:")
            for kind in KINDS:
                p50s = [f[kind]["p50"] for f in floors if kind in f]
                maxes = [f[kind]["max"] for f in floors if kind in f]
                if p50s:
                    ratio = statistics.median(m / p for m, p in zip(maxes, p50s, strict=True) if p)
                    lines.append(f"    {kind + ' (ms)':18} {statistics.median(p50s):8.1f} / "
                                 f"{statistics.median(maxes):.1f}  ({min(maxes):.1f}-{max(maxes):.1f}; "
                                 f"max/p50 {ratio:.2f})")
    final = {m: statistics.median(r["final"] for r in runs[m]) for m in modes}
    lines.append("  jobs final: " + ", ".join(f"{m} {final[m]:.0f}" for m in modes))
    return "\n".join(lines)


def targets(ours: list[dict[str, Any]]) -> str:
    """Issue 32's targets on the medians of ours' runs."""
    def med(kind: str, stat: str) -> float:
        return statistics.median(r["ops"][kind][stat] for r in ours)

    checks = [
        ("jobs table p50 <= 30 ms", med("jobs table", "p50") <= 30),
        ("jobs table max <= 1.5x its p50", med("jobs table", "max") <= 1.5 * med("jobs table", "p50")),
        ("subjob table max <= 1.5x its p50", med("subjob table", "max") <= 1.5 * med("subjob table", "p50")),
        ("write max <= 20 ms", med("write j.comment", "max") <= 20),
        ("status read max <= 10 ms", med("status read", "max") <= 10),
    ]
    return "\n".join(f"  [{'met ' if ok else 'MISS'}] {name}" for name, ok in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, 10000], help="subjobs in all")
    parser.add_argument("--per-master", type=int, default=1000, help="subjobs per master (default 1000)")
    parser.add_argument("--burst", action="store_true", help="release every job on the grid at once")
    parser.add_argument("--compat", action="store_true", help="the compatibility path (poll 10 s)")
    parser.add_argument("--modes", nargs="+", choices=("stock", "ours"), default=["stock", "ours"])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, alternating (default 3: medians)")
    parser.add_argument("--poll-interval", type=float, default=None, help="default 2 s; 10 s with --compat")
    parser.add_argument("--threads", type=int, default=22, help="one thread budget for both (as compare.py)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--json", default="results/prompt_tables.json")
    parser.add_argument("--floor-ops", type=int, default=10, metavar="N",
                        help="then each kind N more times with monitoring idle (every job final): the machine's own "
                             "spread of the same operations (default 10; 0: none)")
    parser.add_argument("--stall-report-after", type=float, default=0.5, metavar="S",
                        help="record every thread's stack when one operation takes longer (3 per kind, in the "
                             "JSON's stalls; default 0.5)")
    args = parser.parse_args()
    if args.poll_interval is None:
        args.poll_interval = 10.0 if args.compat else 2.0
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    results, report = [], []
    for size in args.sizes:
        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in args.modes}
        for _ in range(args.repeat):
            for mode in args.modes:
                runs[mode].append(run_one(size, mode == "stock", args))
        title = (f"{size} subjobs in masters of {args.per_master}{', burst' if args.burst else ', steady'}, "
                 f"{'compatibility' if args.compat else 'native'} path (poll {args.poll_interval:.0f} s, "
                 f"{args.threads} threads each, medians of {args.repeat})")
        report.append(table(title, runs) + ("\n targets (ours):\n" + targets(runs["ours"]) if runs.get("ours") else ""))
        print(report[-1], flush=True)
        results.append({"size": size, **{m: [{"ops": r["ops"], "final": r["final"], "lag_s": r["lag_s"],
                                               "stalls": r.get("stalls", []), "wall_s": r["wall_s"],
                                               "collections": r.get("collections"), "floor": r.get("floor"),
                                               "slow_reads": r.get("slow_reads")} for r in rs]
                                          for m, rs in runs.items()}})
        with open(args.json, "w") as handle:
            json.dump({"per_master": args.per_master, "burst": args.burst, "compat": args.compat,
                       "poll_interval_s": args.poll_interval, "threads": args.threads, "repeat": args.repeat,
                       "runs": results}, handle, indent=2)
    print("\n\n".join(report))
    print(f"\nfigures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
