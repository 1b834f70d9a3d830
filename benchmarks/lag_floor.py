"""The lowest lag any monitoring can reach on a SimGrid workload that fetches one output per request.

The grid serves ``max_concurrent`` requests at once, each taking at least
``latency`` seconds, so it hands out at most ``max_concurrent / latency``
outputs a second (8 / 0.05 s = 160 a second in the compare workload).  A
split job's subjobs reach the grid in one request and end there
``queue + run`` seconds later (each drawn uniformly, as the simulator does);
a job is seen at the first poll after its end and its output is served
first come, first served at the grid's rate, with no other cost at all (no
status requests, no CPU, no lock).  The lag of a job is then when its output
is served minus when it ended, as the demo measures it (from the grid's end
to Ganga's final state).  Prints the lag's p50, p95 and max and when the last
output is served, for the grid's rate and for the rates given, e.g.::

    python benchmarks/lag_floor.py --jobs 10000 --rates 114 200

Ganga-free and seeded; no figure is asserted: a model, not a measurement.
"""

from __future__ import annotations

import argparse
import math
import random


def lags(jobs: int, rate: float, queue: tuple[float, float], run: tuple[float, float], poll: float,
         seed: int) -> tuple[list[float], float]:
    """Each job's lag (sorted) and when the last output is served, for outputs served at ``rate`` a second."""
    draw = random.Random(seed)
    ends = sorted(draw.uniform(*queue) + draw.uniform(*run) for _ in range(jobs))
    served = 0.0
    found: list[float] = []
    for end in ends:
        seen = (math.floor(end / poll) + 1) * poll
        served = max(served, seen) + 1.0 / rate
        found.append(served - end)
    return sorted(found), served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--max-concurrent", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--queue-time", type=float, nargs=2, default=(0.0, 10.0))
    parser.add_argument("--run-time", type=float, nargs=2, default=(5.0, 30.0))
    parser.add_argument("--poll-interval", type=float, default=2.0)
    parser.add_argument("--rates", type=float, nargs="*", default=[],
                        help="other output rates (a second) to model, e.g. one measured")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    grid_rate = args.max_concurrent / args.latency
    for rate in [grid_rate, *args.rates]:
        found, last = lags(args.jobs, rate, tuple(args.queue_time), tuple(args.run_time), args.poll_interval,
                           args.seed)
        p50, p95 = found[len(found) // 2], found[min(len(found) - 1, int(0.95 * len(found)))]
        name = "the grid's" if rate == grid_rate else "given"
        print(f"{args.jobs} jobs, {rate:.0f} outputs/s ({name}): lag p50 {p50:.1f} s, p95 {p95:.1f} s, "
              f"max {found[-1]:.1f} s; last output {last:.1f} s after the grid's submission", flush=True)


if __name__ == "__main__":
    main()
