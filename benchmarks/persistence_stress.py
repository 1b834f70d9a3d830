"""Many seeds of the persistence stress test (tests/ganga/test_persistence_stress.py): prints the mismatch count.

Each seed runs sessions of a real Ganga with GangaMonitoring on a fresh gangadir (writer threads,
bounded flushes, a SIGKILL at a random write, a restart; ``tests/ganga/persistence_stress_child.py``)
and checks after every restart and at quiescence that memory, data files and ``subjobs.idx`` agree
and that every master is the roll-up of its subjobs.

    python benchmarks/persistence_stress.py --seeds 200            # seeds 1..200
    python benchmarks/persistence_stress.py --seeds 50 --first 1000 --sessions 4

Prints one line per seed with a mismatch, then totals; exit status 1 if any seed had one.
No figure is asserted: CI runs a few seeds (the test), this runs many.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.ganga.persistence_stress import run_seed  # noqa: E402 - after the path above


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first", type=int, default=1, help="the first seed")
    parser.add_argument("--sessions", type=int, default=3, help="sessions per seed (all but the last may be killed)")
    args = parser.parse_args()
    started = time.monotonic()
    mismatches = failing = kills = stale = stale_masters = forbidden = operations = 0
    for seed in range(args.first, args.first + args.seeds):
        result = run_seed(seed, sessions=args.sessions)
        kills += result.kills
        stale += result.stale_entries
        stale_masters += result.stale_master_indexes
        operations += result.operations
        forbidden += result.forbidden_roll_ups
        if result.mismatches:
            failing += 1
            mismatches += len(result.mismatches)
            print(f"seed {seed}: {len(result.mismatches)} mismatches", *result.mismatches[:5], sep="\n  ", flush=True)
    print(f"{args.seeds} seeds ({args.first}..{args.first + args.seeds - 1}), {args.sessions} sessions each, "
          f"{kills} killed, {operations} writes: {mismatches} mismatches in {failing} seeds; "
          f"{stale} subjobs.idx entries and {stale_masters} master indexes older than their data file "
          f"after a kill, {forbidden} roll-ups Ganga's transitions forbid (tolerated, as stock); "
          f"{time.monotonic() - started:.0f} s")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
