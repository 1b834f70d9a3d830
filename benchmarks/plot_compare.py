"""Plots of lag vs N and prompt latency vs N from the JSON files `compare.py` writes.

Each input file holds stock and ours for one or more sizes; the plots put every run of
one kind of workload (backend, split or plain) on one line per monitoring, so runs made
on different days (one size per run, as the large sizes need) still make one picture.
A run that did not finish every job is drawn hollow and labelled with how many did: its
lag covers only the jobs that finished, which flatters it.

    python benchmarks/plot_compare.py results/compare-plain-*.json   # docs/img/compare-*.png
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from typing import Any

MODES = ("stock", "ours")
Series = dict[tuple[str, str], list[dict[str, Any]]]  # (workload, mode) -> summaries, by size


def workload(summary: dict[str, Any]) -> str:
    kind = "plain jobs" if summary["plain_jobs"] else "subjobs"
    return f"{summary.get('backend', 'SimGrid')}, {kind}"


def load(paths: list[str]) -> Series:
    """Every run of every file, grouped by workload and mode; a size run twice keeps the later file's run."""
    by_size: dict[tuple[str, str], dict[int, dict[str, Any]]] = defaultdict(dict)
    for path in paths:
        with open(path) as handle:
            runs = json.load(handle)["runs"]
        for run in runs:
            for mode in MODES:
                summary = run[mode]
                by_size[(workload(summary), mode)][summary["subjobs"]] = summary
    return {key: [sizes[n] for n in sorted(sizes)] for key, sizes in by_size.items()}


def plot(series: Series, directory: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(directory, exist_ok=True)
    workloads = sorted({name for name, _ in series})
    written = []
    for stem, panels in (
        ("compare-lag", (("lag_s", "p50", "lag grid end → Ganga final, p50 (s)"),
                         ("lag_s", "p95", "lag, p95 (s)"))),
        ("compare-prompt", (("prompt_latency_ms", "p99", "prompt (a GPI read every 100 ms), p99 (ms)"),
                            ("prompt_latency_ms", "max", "prompt, worst (ms)"))),
    ):
        figure, axes = plt.subplots(len(workloads), len(panels), figsize=(6 * len(panels), 4 * len(workloads)),
                                    squeeze=False)
        for row, name in zip(axes, workloads, strict=True):
            for axis, (field, quantile, label) in zip(row, panels, strict=True):
                for mode in MODES:
                    _draw(axis, series.get((name, mode), []), field, quantile, mode)
                axis.set_xscale("log")
                axis.set_title(name)
                axis.set_xlabel("jobs monitored (N)")
                axis.set_ylabel(label)
                axis.legend()
        figure.tight_layout()
        path = os.path.join(directory, f"{stem}.png")
        figure.savefig(path, dpi=90)
        plt.close(figure)
        written.append(path)
    return written


def _draw(axis: Any, runs: list[dict[str, Any]], field: str, quantile: str, mode: str) -> None:
    sizes = [r["subjobs"] for r in runs]
    values = [r[field][quantile] for r in runs]
    (line,) = axis.plot(sizes, values, label=mode, linestyle="-")
    for run, x, y in zip(runs, sizes, values, strict=True):
        finished = run["not_final"] == 0
        axis.plot([x], [y], marker="o", color=line.get_color(),
                  markerfacecolor=line.get_color() if finished else "none")
        if not finished:
            axis.annotate(f"{run['final']:,} of {x:,} final", (x, y), textcoords="offset points", xytext=(4, 4),
                          fontsize=8, color=line.get_color())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", help="JSON files written by compare.py")
    parser.add_argument("--plots", default="docs/img")
    args = parser.parse_args()
    for path in plot(load(args.files), args.plots):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
