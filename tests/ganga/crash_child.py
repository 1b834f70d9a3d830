"""A Ganga session in a process of its own, for test_crash_recovery, which kills it with SIGKILL.

Usage: crash_child.py GANGADIR SIMGRID_URL N_SUBJOBS [BACKEND].  It submits one split
job (BACKEND: SimGrid, the default, or Dirac on the simulated DIRAC, which
the parent pointed at the simulator) and prints ``states completed=.. completing=.. ...`` lines
(flushed, ending in ``.``) every 0.1 s until killed.
"""

from __future__ import annotations

import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.ganga.conftest import ganga_options  # noqa: E402 - the same options as in-process sessions

from GangaCore.testlib.GangaUnitTest import start_ganga  # noqa: E402


def main(gangadir: str, url: str, subjobs: int, backend: str) -> None:
    start_ganga(gangadir, extra_opts=ganga_options([("PollThread", backend, 0.5), ("SimGrid", "server", url),
                                                    ("Monitoring", "backend_concurrency", {backend: 2}),
                                                    ("Registry", "AutoFlusherWaitTime", 1)]))
    from GangaCore import GPI
    from GangaCore.Core import monitoring_component

    monitoring_component.enable()
    job = GPI.Job(backend=getattr(GPI, backend)(), splitter=GPI.ArgSplitter(args=[[str(i)] for i in range(subjobs)]))
    job.submit()
    print(f"submitted {job.id}", flush=True)
    while True:
        counts = collections.Counter(sj.status for sj in job.subjobs)
        states = " ".join(f"{s}={n}" for s, n in sorted(counts.items()))
        sys.stdout.write(f"master={job.status} states {states} .\n")  # one write: Ganga's log shares stdout
        sys.stdout.flush()
        time.sleep(0.1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "SimGrid")
