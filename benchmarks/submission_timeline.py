"""When a split job's subjobs are final, against its ``submit()``: the timeline of issue 30's item.

One in-process Ganga (the tests' session: ``tests/ganga/conftest.py``, a temp
gangadir) with GangaMonitoring; a status listener stamps, from the call of
``submit()``, the first and last subjob set ``submitted``, the first final
one, the return of ``submit()`` and the master's final state, and counts the
subjobs final before ``submit()`` returned.  Run it on two trees (before and
after a change) by ``PYTHONPATH``; from the checkout's root:

    PYTHONPATH=src:. python benchmarks/submission_timeline.py --backend SimGrid --subjobs 10000
    PYTHONPATH=src:. python benchmarks/submission_timeline.py --backend RecordingSubmitter --subjobs 1000
    PYTHONPATH=src:. python benchmarks/submission_timeline.py --backend Dirac --subjobs 1000

SimGrid runs on its own simulator (queue 0-1 s, run 1-3 s, 50 ms a request);
RecordingSubmitter (the tests' compatibility-path backend) runs 2 s jobs
submitted one by one; Dirac is Ganga's own backend on the simulated DIRAC
(the tests' installation) with the same simulator behind it, submitting in
blocks of ``[DIRAC]maxSubjobsPerProcess``.  Prints one line; no figure is asserted: a measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("SimGrid", "RecordingSubmitter", "Dirac"), default="SimGrid")
    parser.add_argument("--subjobs", type=int, default=3000)
    args = parser.parse_args()

    from GangaMonitoring import patches
    from tests.ganga.conftest import ganga_running
    from tests.ganga.test_simgrid import own_simgrid

    marks: dict[str, float] = {}
    during = 0
    started = 0.0

    def listener(job: Any, status: str) -> None:
        nonlocal during
        if job._getParent() is None:
            return
        now = time.monotonic() - started
        if status == "submitted":
            marks.setdefault("first submitted", now)
            marks["last submitted"] = now
        if status in ("completed", "failed"):
            marks.setdefault("first final", now)
            during += "submit returned" not in marks

    with own_simgrid("--queue-time", "0", "1", "--run-time", "1", "3", "--output-bytes", "64",
                     "--latency", "0.05", "--max-concurrent", "8") as grid, \
            pointed_dirac(grid.url if args.backend == "Dirac" else None), \
            ganga_running(tempfile.mkdtemp(prefix="gm-timeline-"),
                          [("PollThread", "SimGrid", 2), ("PollThread", "Dirac", 2),
                           ("SimGrid", "server", grid.url)]) as gpi:
        patches.add_status_listener(listener, subjobs=True)
        backend = {"SimGrid": gpi.SimGrid, "Dirac": gpi.Dirac,
                   "RecordingSubmitter": lambda: gpi.RecordingSubmitter(time=2)}[args.backend]()
        job = gpi.Job(backend=backend, parallel_submit=False,
                      splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(args.subjobs)]))
        started = time.monotonic()
        job.submit()
        marks["submit returned"] = time.monotonic() - started
        while job.status not in ("completed", "failed"):
            time.sleep(0.5)
        marks["master final"] = time.monotonic() - started
        patches.remove_status_listener(listener)
    shown = ", ".join(f"{name} {when:.1f} s" for name, when in sorted(marks.items(), key=lambda kv: kv[1]))
    print(f"{args.subjobs} {args.backend} subjobs: {shown}; final during submit(): {during}", flush=True)


def pointed_dirac(url: str | None) -> contextlib.AbstractContextManager[None]:
    """The tests' simulated DIRAC answering from ``url`` meanwhile (nothing if None)."""
    if url is None:
        return contextlib.nullcontext()
    from tests.ganga.conftest import fake_dirac_at

    return fake_dirac_at(url)


if __name__ == "__main__":
    main()
