"""asyncio vs threads vs processes for each kind of monitoring work, measured on the grid simulator.

For each kind of work — bulk status polls, output downloads, unpacking
output tarballs, merging text outputs in pure Python — it runs the same batch three ways and measures wall time,
CPU time (this process and its children) and how late a "prompt" thread
wakes up meanwhile (a thread that sleeps 5 ms in a loop: its lateness is the
time it waited for the GIL, which is what a user at the Ganga prompt feels).

    python benchmarks/study.py                 # writes results/study.json and docs/img/study-*.png
    python benchmarks/study.py --sizes 50 200  # batches of 50 and 200 items

The simulator serves 8 requests at once with 50 ms latency per request, like
the benchmark's grid.  Each strategy gets 8 workers for I/O and 2 (the
cores here) for unpacking.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import psutil
import requests

from GangaMonitoring.drivers.outputs import unpack_tarball
from GangaMonitoring.simulator.client import SimGridClient
from GangaMonitoring.simulator.process import SimGridProcess

IO_WORKERS = 8
CPU_WORKERS = 2
STATUS_BATCH = 100


class PromptProbe:
    """A thread that sleeps 5 ms in a loop and records how late it wakes (GIL waits)."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            time.sleep(0.005)
            self.lateness.append(time.perf_counter() - start - 0.005)

    def __enter__(self) -> PromptProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds(exclude: set[int]) -> float:
    """CPU of this process and its live children (the process pools), but not of ``exclude`` (the grid)."""
    total = sum(psutil.Process().cpu_times()[:2])
    for child in psutil.Process().children(recursive=True):
        if child.pid not in exclude:
            with contextlib.suppress(psutil.Error):
                total += sum(child.cpu_times()[:2])
    return total


def measure(work: Callable[[], Any], exclude: set[int]) -> dict[str, float]:
    cpu, wall = cpu_seconds(exclude), time.perf_counter()
    with PromptProbe() as probe:
        work()
    late = sorted(probe.lateness) or [0.0]
    return {"wall_s": time.perf_counter() - wall, "cpu_s": cpu_seconds(exclude) - cpu,
            "prompt_p99_ms": 1000 * late[int(0.99 * (len(late) - 1))], "prompt_max_ms": 1000 * late[-1],
            "prompt_median_ms": 1000 * statistics.median(late)}


# -- the work, one item at a time (threads and processes) ------------------------

_session: requests.Session | None = None


def _http() -> requests.Session:
    global _session
    if _session is None:
        _session = requests.Session()
    return _session


def status_item(url: str, first_id: int) -> int:
    ids = list(range(first_id, first_id + STATUS_BATCH))
    answer = _http().post(f"{url}/status", json={"ids": ids}, timeout=30)
    answer.raise_for_status()
    return len(answer.json()["jobs"])


def download_item(url: str, job_id: int) -> int:
    answer = _http().get(f"{url}/jobs/{job_id}/output", timeout=30)
    answer.raise_for_status()
    return len(answer.content)


def unpack_item(tarball: str, into: str) -> int:
    return len(unpack_tarball(tarball, into, remove=False))


def merge_item(text_file: str, into: str) -> int:
    """A TextMerger-like step in pure Python (it holds the GIL): number and filter every line."""
    kept = 0
    os.makedirs(into, exist_ok=True)
    with open(text_file) as source, open(os.path.join(into, "merged.txt"), "w") as target:
        for number, line in enumerate(source):
            if "DEBUG" not in line:
                target.write(f"{number:08d} {line.strip().upper()}\n")
                kept += 1
    return kept


# -- the same with asyncio ------------------------------------------------------


async def _async_batch(url: str, paths: list[tuple[str, Any]]) -> None:
    import aiohttp

    limit = asyncio.Semaphore(IO_WORKERS)
    async with aiohttp.ClientSession() as session:
        async def one(method: str, path: str, body: Any) -> None:
            async with limit, session.request(method, url + path, json=body) as response:
                await response.read()
        await asyncio.gather(*(one("POST" if body else "GET", path, body) for path, body in paths))


def run_strategy(strategy: str, kind: str, items: list[Any], url: str, workdir: str,
                 pools: dict[str, Any]) -> None:
    """One batch of ``kind`` work, run the ``strategy`` way, on pools started (and warmed) beforehand."""
    if kind in ("unpack", "merge"):
        step = unpack_item if kind == "unpack" else merge_item
        targets = [os.path.join(workdir, f"out-{kind}-{strategy}-{n}") for n in range(len(items))]
        if strategy == "asyncio":  # no async unpacking exists: to_thread is what an asyncio design would do
            async def all_in_threads() -> None:
                pairs = zip(items, targets, strict=True)
                await asyncio.gather(*(asyncio.to_thread(step, t, d) for t, d in pairs))
            asyncio.run(all_in_threads())
            return
        list(pools[f"{strategy}-cpu"].map(step, items, targets))
        return
    if strategy == "asyncio":
        paths = ([("/status", {"ids": list(range(i, i + STATUS_BATCH))}) for i in items] if kind == "poll"
                 else [(f"/jobs/{i}/output", None) for i in items])
        asyncio.run(_async_batch(url, paths))
        return
    function = status_item if kind == "poll" else download_item
    list(pools[f"{strategy}-io"].map(function, [url] * len(items), items))


def start_pools() -> dict[str, Any]:
    """Long-lived pools, as the monitoring keeps them; processes are spawned (a forked child would
    share the parent's HTTP connections) and started before anything is timed."""
    spawn = multiprocessing.get_context("spawn")
    pools = {"threads-io": ThreadPoolExecutor(IO_WORKERS), "threads-cpu": ThreadPoolExecutor(CPU_WORKERS),
             "processes-io": ProcessPoolExecutor(IO_WORKERS, mp_context=spawn),
             "processes-cpu": ProcessPoolExecutor(CPU_WORKERS, mp_context=spawn)}
    for pool in pools.values():
        list(pool.map(abs, range(32)))
    return pools


def prepare(kind: str, size: int, client: Any, workdir: str) -> list[Any]:
    if kind == "poll":
        return [1 + (n * STATUS_BATCH) % 4800 for n in range(size)]
    if kind == "download":
        return [1 + n % 4800 for n in range(size)]
    if kind == "merge":
        texts = []
        for n in range(size):
            path = os.path.join(workdir, f"log-{n}.txt")
            with open(path, "w") as handle:
                handle.writelines(f"{'DEBUG' if i % 7 == 0 else 'INFO'} event {i} of job {n}: value {i * n}\n"
                                  for i in range(5000))
            texts.append(path)
        return texts
    tarballs = []
    for n in range(size):
        path = os.path.join(workdir, f"sandbox-{n}.tar.gz")
        with open(path, "wb") as handle:
            handle.write(client.output(1 + n))
        tarballs.append(path)
    return tarballs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 400])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case; medians are reported")
    parser.add_argument("--json", default="results/study.json")
    parser.add_argument("--plots", default="docs/img")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    with SimGridProcess("--latency", "0.05", "--max-concurrent", "8", "--queue-time", "0", "0", "--run-time",
                        "0", "0", "--output-bytes", "262144", "--output-files", "2") as url, \
            tempfile.TemporaryDirectory(prefix="gangamon-study-") as workdir:
        client = SimGridClient(url)
        grid_pid = next(c.pid for c in psutil.Process().children() if "simulator" in " ".join(c.cmdline()))
        pools = start_pools()
        client.submit(5000)
        time.sleep(1)  # every job ends at once (run time 0): outputs exist
        for kind in ("poll", "download", "unpack", "merge"):
            for size in args.sizes:
                items = prepare(kind, size, client, workdir)
                for strategy in ("asyncio", "threads", "processes"):
                    runs = [measure(functools.partial(run_strategy, strategy, kind, items, url, workdir, pools),
                                    exclude={grid_pid}) for _ in range(args.repeat)]
                    medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
                    row = {"kind": kind, "size": size, "strategy": strategy, "repeats": args.repeat, **medians}
                    print(json.dumps(row), flush=True)
                    results.append(row)
        for pool in pools.values():
            pool.shutdown()
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as handle:
        json.dump(results, handle, indent=2)
    plot(results, args.plots)
    return 0


def plot(results: list[dict[str, Any]], directory: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(directory, exist_ok=True)
    kinds = ("poll", "download", "unpack", "merge")
    for metric, label in (("wall_s", "wall time (s)"), ("prompt_p99_ms", "prompt thread: p99 lateness (ms)"),
                          ("prompt_max_ms", "prompt thread: worst lateness (ms)"), ("cpu_s", "CPU time (s)")):
        figure, axes = plt.subplots(1, 4, figsize=(17, 4))
        for axis, kind in zip(axes, kinds, strict=True):
            for strategy in ("asyncio", "threads", "processes"):
                rows = [r for r in results if r["kind"] == kind and r["strategy"] == strategy]
                axis.plot([r["size"] for r in rows], [r[metric] for r in rows], marker="o", label=strategy)
            axis.set_title(kind)
            axis.set_xlabel("items in the batch")
            axis.set_ylabel(label)
            axis.legend()
        figure.tight_layout()
        figure.savefig(os.path.join(directory, f"study-{metric.replace('_', '-')}.png"), dpi=90)
        plt.close(figure)


if __name__ == "__main__":
    sys.exit(main())
