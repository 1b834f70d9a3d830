"""What one flush of a split job costs, by how many of its subjobs changed: stock Ganga vs the package.

Issue 17 ("a flush costs what changed"): Ganga's registry flusher saves a
master's changed subjobs, recomputes its subjob index and rewrites the master
every time any subjob changed.  Each mode runs in a fresh process with a real
in-process Ganga (``GangaCore.testlib``, a temp HOME and gangadir, the
``TestSubmitter`` backend, no monitoring polls): one master of ``--subjobs``
subjobs is submitted and flushed, then for each ``k`` the comments of ``k``
subjobs are changed and the master is flushed (``Registry._flush``), timed,
``--repeat`` times (the median is kept); ``k = 0`` is the master's own
comment changed alone.  ``--loaded``: the master is read back from disk by a
second session first, every subjob in memory (as after a restart).  Stock is
Ganga 8.7.12 alone; ours is the same session with GangaMonitoring, whose
component installs the repository patches (items 11, 13, 14, 15 of
``patches/``).  ``--tree
NAME=DIR`` also times, as a column of its own, the Ganga of a source tree
(e.g. a commit of ``tools/upstream_patch``'s series, whose edits act without
the package) in the stock mode's session.

    python benchmarks/flush_cost.py                          # 2,000 subjobs, k = 0 .. 2,000
    python benchmarks/flush_cost.py --subjobs 10000 --plot   # and docs/img/flush-cost.png
    python benchmarks/flush_cost.py --load results/flush-cost.json --plot docs/img/flush-cost.png
    python benchmarks/flush_cost.py --tree edits=/tmp/series/ganga    # that tree's Ganga too
    python benchmarks/flush_cost.py --loaded --subjobs 1000  # the master read back after a restart

Prints a table (milliseconds per flush, CPU of that thread, ratio) and writes JSON with ``--json``.
No figure is asserted anywhere: it is a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

MODES = ("stock", "ours")


def changed_counts(subjobs: int) -> list[int]:
    """0, 1, 10, 100, ... up to every subjob."""
    counts, k = [0], 1
    while k < subjobs:
        counts.append(k)
        k *= 10
    return [*counts, subjobs]


def child(mode: str, subjobs: int, repeat: int, loaded: bool = False) -> dict[str, Any]:
    """In a fresh process: the flush times of one master, by subjobs changed.  ``loaded``: the master is
    read back from disk by a second session (a ``SubJobXMLList``), every subjob in memory, as after a restart."""
    home = tempfile.mkdtemp(prefix="gangamon-flush-home-")
    os.environ["HOME"] = home
    import ganga  # noqa: F401 - puts GangaCore on sys.path

    from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga

    runtime = "GangaTest:GangaMonitoring" if mode == "ours" else "GangaTest"
    gangadir = tempfile.mkdtemp(prefix="gangamon-flush-")
    options = [("Configuration", "RUNTIME_PATH", runtime), ("PollThread", "autostart", False),
               ("Registry", "AutoFlusherWaitTime", 3600), ("TestingFramework", "AutoCleanup", False)]
    start_ganga(gangadir, extra_opts=options)
    import GangaCore.GPI as gpi
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    job = gpi.Job(backend=gpi.TestSubmitter(time=3600),
                  splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(subjobs)]))
    job.submit()
    if loaded:
        job_id = job.id
        stop_ganga()
        start_ganga(gangadir, extra_opts=options)
        import GangaCore.GPI as gpi

        job = gpi.jobs(job_id)
        assert all(subjob.status for subjob in job.subjobs)  # every subjob in memory
    from GangaCore.Core import monitoring_component

    master = stripProxy(job)
    registry = master._getRegistry()
    registry._flush([master])
    rows = []
    generation = 0
    for k in changed_counts(subjobs):
        wall, cpu = [], []
        for _ in range(repeat):
            generation += 1
            for i in range(k):
                master.subjobs[i].comment = f"changed {generation}"
            if k == 0:  # the master's own values alone (a flush of nothing dirty does nothing)
                master.comment = f"changed {generation}"
            started, started_cpu = time.perf_counter(), time.thread_time()
            registry._flush([master])
            wall.append(time.perf_counter() - started)
            cpu.append(time.thread_time() - started_cpu)
        rows.append({"changed": k, "flush_ms": 1000 * statistics.median(wall),
                     "cpu_ms": 1000 * statistics.median(cpu)})
    from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistry

    import GangaCore

    patched = bool(getattr(vars(JobRegistry)["getIndexCache"], "__gm_wrapped__", False))
    return {"mode": mode, "component": type(monitoring_component).__name__, "patched": patched,
            "ganga": os.path.dirname(GangaCore.__file__), "subjobs": subjobs, "loaded": loaded, "rows": rows,
            "temp_dirs": [home, gangadir]}


def run_mode(mode: str, subjobs: int, repeat: int, timeout: float, tree: str | None = None,
             loaded: bool = False) -> dict[str, Any]:
    """One mode in a fresh process; ``tree``: with the Ganga of that source tree first on ``sys.path``."""
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = os.pathsep.join([tree, os.path.join(tree, "ganga"), env.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory(prefix="gangamon-flush-out-") as out:
        path = os.path.join(out, "result.json")
        command = [sys.executable, __file__, "--child", mode, "--subjobs", str(subjobs), "--repeat", str(repeat),
                   "--json", path, *(["--loaded"] if loaded else [])]
        subprocess.run(command, check=True, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       start_new_session=True, env=env)
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)


def table(results: dict[str, dict[str, Any]]) -> str:
    stock = {r["changed"]: r for r in results["stock"]["rows"]}
    ours = {r["changed"]: r for r in results["ours"]["rows"]}
    trees = [name for name in results if name not in MODES]
    by_tree = {name: {r["changed"]: r for r in results[name]["rows"]} for name in trees}
    made = "loaded from disk, all in memory" if results["ours"].get("loaded") else "made in the session"
    lines = [f"flush of one master of {results['ours']['subjobs']} subjobs, {made} "
             "(median ms; CPU of the flushing thread)",
             f"{'changed':>8} {'stock ms':>10} {'ours ms':>10} {'ratio':>6} {'stock cpu':>10} {'ours cpu':>10}"
             + "".join(f" {name + ' ms':>12} {'ratio':>6}" for name in trees)]
    for k in sorted(stock):
        s, o = stock[k], ours[k]
        ratio = o["flush_ms"] / s["flush_ms"] if s["flush_ms"] else float("nan")
        lines.append(f"{k:>8} {s['flush_ms']:>10.1f} {o['flush_ms']:>10.1f} {ratio:>6.2f} "
                     f"{s['cpu_ms']:>10.1f} {o['cpu_ms']:>10.1f}"
                     + "".join(f" {by_tree[n][k]['flush_ms']:>12.1f} "
                               f"{by_tree[n][k]['flush_ms'] / s['flush_ms'] if s['flush_ms'] else float('nan'):>6.2f}"
                               for n in trees))
    return "\n".join(lines)


def plot(results: dict[str, dict[str, Any]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for mode in MODES:
        rows = [r for r in results[mode]["rows"] if r["changed"] > 0]
        axes.plot([r["changed"] for r in rows], [r["flush_ms"] for r in rows], marker="o",
                  label="stock Ganga 8.7.12" if mode == "stock" else "GangaMonitoring")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("subjobs changed since the last flush")
    axes.set_ylabel("one flush of the master (ms)")
    axes.set_title(f"A master of {results['ours']['subjobs']} subjobs")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjobs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="flushes per point (the median is kept)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds each mode may take")
    parser.add_argument("--json", default=None)
    parser.add_argument("--plot", nargs="?", const="docs/img/flush-cost.png", default=None)
    parser.add_argument("--load", default=None, help="print and plot the results of an earlier run (its --json)")
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=DIR",
                        help="also time the Ganga of this source tree (without the package), as column NAME")
    parser.add_argument("--loaded", action="store_true",
                        help="the master read back by a second session, every subjob in memory (after a restart)")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = child(args.child, args.subjobs, args.repeat, args.loaded)
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle)
        for directory in result["temp_dirs"]:
            shutil.rmtree(directory, ignore_errors=True)
        os._exit(0)  # Ganga's stop would flush and wait for its threads; nothing of this session is kept
    if args.load:
        with open(args.load, encoding="utf-8") as handle:
            results = json.load(handle)
    else:
        results = {mode: run_mode(mode, args.subjobs, args.repeat, args.timeout, loaded=args.loaded) for mode in MODES}
        for named in args.tree:
            name, tree = named.split("=", 1)
            results[name] = run_mode("stock", args.subjobs, args.repeat, args.timeout, tree=os.path.abspath(tree),
                                     loaded=args.loaded)
            if not results[name]["ganga"].startswith(os.path.abspath(tree)):
                raise SystemExit(f"the {name} run did not use the Ganga of {tree}: {results[name]['ganga']}")
    if results["ours"]["component"] != "MonitoringComponent" or not results["ours"]["patched"]:
        raise SystemExit(f"the package was not active in the 'ours' run: {results['ours']}")
    if results["stock"]["patched"]:
        raise SystemExit("the 'stock' run had the package's patches installed")
    print(table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    if args.plot:
        plot(results, args.plot)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
