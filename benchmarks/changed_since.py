"""How soon a poller notices finished jobs among 100,000: changed-since queries vs full status sweeps.

Issue 7's last target: "with the native changed-since driver, lag p95 <= 1 s
at 100k jobs".  Ganga itself cannot hold 100k monitored jobs in one session
in reasonable time (submitting them is the cost), so this measures the
driver's polling alone, with the SimGrid driver's own query code
(``SimGridDriver._views``: changed-since with a cursor, a full re-read every
``FULL_STATUS_EVERY`` polls) against a simulator holding 100k jobs, and the
same loop reading every job's status each poll instead.  Lag is from the
grid's finish time to the end of the poll that first reported it final.

    python benchmarks/changed_since.py                  # 100k jobs, poll every 0.5 s
    python benchmarks/changed_since.py --jobs 20000 --interval 1

The grid answers in 50 ms per request, 8 at once, 1000 ids per status
request, like the other benchmarks.  Prints a table; ``--json`` writes it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import ganga  # noqa: F401 - puts GangaCore on sys.path for the driver's imports

from GangaMonitoring.demo import percentile
from GangaMonitoring.drivers.simgrid import SimGridDriver
from GangaMonitoring.simulator.client import SimGridClient
from GangaMonitoring.simulator.process import SimGridProcess

FINAL = {"Done", "Failed", "Killed"}


def poll_until_all_final(client: SimGridClient, ids: list[int], interval: float, changed_since: bool,
                         deadline: float) -> dict[str, Any]:
    """Poll every ``interval`` s until every job was seen final; returns lag figures and poll costs."""
    driver = SimGridDriver()
    seen_final: dict[int, float] = {}
    finished_at: dict[int, float] = {}
    poll_seconds: list[float] = []
    wanted = set(ids)
    cpu_before = time.process_time()
    next_poll = time.time()
    while len(seen_final) < len(ids) and time.time() < deadline:
        time.sleep(max(0.0, next_poll - time.time()))
        next_poll += interval
        started = time.time()
        views = (driver._views(client, (client.url, "bench"), wanted) if changed_since
                 else client.status(sorted(wanted)))
        ended = time.time()
        poll_seconds.append(ended - started)
        for view in views:
            job_id = view["id"]
            if view["state"] in FINAL and job_id in wanted and job_id not in seen_final:
                seen_final[job_id] = ended
                finished_at[job_id] = float(view["finished_at"])
    lags = [seen_final[i] - finished_at[i] for i in seen_final]
    return {
        "mode": "changed-since (SimGrid driver)" if changed_since else "full status every poll",
        "jobs": len(ids), "seen_final": len(seen_final), "polls": len(poll_seconds),
        "lag_p50": percentile(lags, 0.50), "lag_p95": percentile(lags, 0.95), "lag_max": max(lags, default=0.0),
        "poll_p50": percentile(poll_seconds, 0.50), "poll_max": max(poll_seconds, default=0.0),
        "cpu_seconds": time.process_time() - cpu_before,
    }


def run(mode_changed_since: bool, args: argparse.Namespace) -> dict[str, Any]:
    grid_args = ("--latency", "0.05", "--max-concurrent", "8", "--max-batch", "1000", "--seed", str(args.seed),
                 "--queue-time", "0", str(args.spread / 4), "--run-time", "1", str(args.spread))
    with SimGridProcess(*grid_args) as url:
        client = SimGridClient(url, timeout=30.0)
        ids: list[int] = []
        while len(ids) < args.jobs:
            ids += client.submit(min(10_000, args.jobs - len(ids)))
        deadline = time.time() + args.spread * 2 + 120
        result = poll_until_all_final(client, ids, args.interval, mode_changed_since, deadline)
        requests = client.stats()["requests"]
        result["grid_requests"] = sum(n for name, n in requests.items() if not name.startswith("requests submit"))
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls")
    parser.add_argument("--spread", type=float, default=60.0, help="jobs finish over about this many seconds")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    results = [run(True, args), run(False, args)]
    print(f"{args.jobs} jobs finishing over ~{args.spread:.0f} s, a poll every {args.interval} s "
          "(grid: 50 ms a request, 8 at once, 1000 ids a status request)")
    print(f"{'':32} {'lag p50':>8} {'p95':>7} {'max':>7} {'poll p50':>9} {'max':>7} {'requests':>9} {'CPU s':>6}")
    for r in results:
        print(f"{r['mode']:32} {r['lag_p50']:8.2f} {r['lag_p95']:7.2f} {r['lag_max']:7.2f} {r['poll_p50']:9.3f} "
              f"{r['poll_max']:7.3f} {r['grid_requests']:9d} {r['cpu_seconds']:6.1f}"
              + ("" if r["seen_final"] == r["jobs"] else f"  ({r['jobs'] - r['seen_final']} never seen final)"))
    print(f"target: changed-since lag p95 <= 1 s: {'met' if results[0]['lag_p95'] <= 1.0 else 'MISSED'}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as handle:
            json.dump({"args": vars(args), "results": results}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
