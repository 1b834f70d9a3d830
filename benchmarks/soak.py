"""Soak: ≥ 20,000 simulated grid jobs under faults, monitored by GangaMonitoring, then checked.

Runs the project's demo (a real in-process Ganga in a subprocess) against a
simulated grid that answers 5 % of requests with HTTP 500, lets 1 % hang
past the client timeout, garbles 1 % of answers and goes down for 30 s
while jobs finish.  It passes when every job is final, every output is
present exactly once (no leftover download) and nothing is left in
``completing``; it prints the figures and writes them as JSON.

    python benchmarks/soak.py                 # 20,000 subjobs (about 15 min here)
    python benchmarks/soak.py --jobs 2000     # a quick one
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--json", default="results/soak.json")
    parser.add_argument("--timeout", type=float, default=5400.0)
    args = parser.parse_args()
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    command = [sys.executable, "-m", "GangaMonitoring.demo", "--jobs", str(args.jobs),
               "--queue-time", "0", "30", "--run-time", "5", "120", "--failure-fraction", "0.05",
               "--latency", "0.05", "--max-concurrent", "8", "--poll-interval", "2",
               "--error-rate", "0.05", "--timeout-rate", "0.01", "--hang-seconds", "4",
               "--malformed-rate", "0.01", "--outage", "60", "30",
               "--timeout", str(args.timeout), "--json", args.json]
    print("$", " ".join(command), flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gangamon-soak-") as workdir:
        result = subprocess.run(command, cwd=workdir, check=False)
    wall = time.monotonic() - started
    with open(args.json) as handle:
        summary = json.load(handle)
    summary["wall_s"] = wall
    with open(args.json, "w") as handle:
        json.dump(summary, handle, indent=2)
    print(report(summary))
    ok = result.returncode == 0 and summary["not_final"] == 0 and not summary["integrity_problems"]
    print("SOAK PASSED" if ok else "SOAK FAILED")
    return 0 if ok else 1


def report(summary: dict) -> str:
    requests = summary["grid_requests"]
    faults = {k: v for k, v in requests.items() if not k.startswith("requests ")}
    return "\n".join([
        f"jobs {summary['subjobs']}: final {summary['final']} ({summary['completed']} completed, "
        f"{summary['failed_on_grid']} failed on the grid), not final {summary['not_final']}",
        f"outputs exactly once: {'yes' if not summary['integrity_problems'] else summary['integrity_problems']}",
        f"lag p50 {summary['lag_s']['p50']:.1f} s, p95 {summary['lag_s']['p95']:.1f} s, "
        f"max {summary['lag_s']['max']:.1f} s; drain {summary['drain_s']} s",
        f"prompt p99 {summary['prompt_latency_ms']['p99']:.1f} ms, max {summary['prompt_latency_ms']['max']:.1f} ms",
        f"faults the grid injected: {faults}",
        f"requests: { {k: v for k, v in requests.items() if k.startswith('requests ')} }",
        f"CPU {summary['cpu_s']:.0f} s, peak RSS {summary['peak_rss_mb']:.0f} MB, wall {summary['wall_s']:.0f} s",
    ])


if __name__ == "__main__":
    sys.exit(main())
