"""Plots of lag vs N and prompt latency vs N from the JSON files `compare.py` writes.

Each input file holds stock and ours for one or more sizes; the plots put every run of
one kind of workload (backend, split or plain) on one line per monitoring, so runs made
on different days (one size per run, as the large sizes need) still make one picture.
Each workload gets PNGs of its own (``compare-lag-simgrid-plain.png``, ...), so redrawing
one workload from its runs leaves the others' pictures as they are.
A run that did not finish every job is drawn hollow and labelled with how many did: its
lag covers only the jobs that finished, which flatters it.

    python benchmarks/plot_compare.py docs/data/compare-*.json   # docs/img/compare-{lag,prompt}-*.png
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections import defaultdict
from typing import Any

MODES = ("stock", "ours")
Series = dict[tuple[str, str], list[dict[str, Any]]]  # (workload, mode) -> summaries, by size


def workload(summary: dict[str, Any]) -> str:
    """``SimGrid, subjobs``; ``SimGrid compat, subjobs, burst`` for the compatibility path's bursts."""
    kind = "plain jobs" if summary["plain_jobs"] else "subjobs"
    backend = summary.get("backend", "SimGrid") + (" compat" if summary.get("compat") else "")
    return f"{backend}, {kind}" + (", burst" if summary.get("burst") else "")


def load(paths: list[str]) -> Series:
    """Every run of every file, grouped by workload and mode; a size run several times is one point."""
    by_size: dict[tuple[str, str], dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for path in paths:
        with open(path) as handle:
            runs = json.load(handle)["runs"]
        for run in runs:
            for mode in MODES:
                repeats = run[mode] if isinstance(run[mode], list) else [run[mode]]  # compare.py --repeat N
                for summary in repeats:
                    by_size[(workload(summary), mode)][summary["subjobs"]].append(summary)
    return {key: [median_run(sizes[n]) for n in sorted(sizes)] for key, sizes in by_size.items()}

PANELS = (
    ("compare-lag", (("lag_s", "p50", "lag grid end → Ganga final, p50 (s)"),
                     ("lag_s", "p95", "lag, p95 (s)"))),
    ("compare-prompt", (("prompt_latency_ms", "p99", "prompt (a GPI read every 100 ms), p99 (ms)"),
                        ("prompt_latency_ms", "max", "prompt, worst (ms)"))),
)


PLOTTED = tuple(dict.fromkeys(field for _, fields in PANELS for field, _, _ in fields))
"""The summaries' fields the panels draw: the ones a size run several times takes the median of."""


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One point for runs of one size: each plotted quantile the median of the runs' (the house rule:
    medians of several), and the fewest jobs any run finished, so a run that left jobs is not hidden."""
    point = dict(max(runs, key=lambda run: run["not_final"]))
    for field in PLOTTED:
        point[field] = {quantile: statistics.median(run[field][quantile] for run in runs)
                        for quantile in runs[0][field]}
    return point


def file_stem(name: str) -> str:
    """``SimGrid, plain jobs`` -> ``simgrid-plain``; ``SimGrid compat, subjobs, burst`` ->
    ``simgrid-compat-subjobs-burst``: the workload's part of its PNGs' names."""
    backend, kind, *rest = name.split(", ")
    parts = [*backend.lower().split(), "plain" if kind.startswith("plain") else "subjobs", *rest]
    return "-".join(parts)


def plot(series: Series, directory: str) -> list[str]:
    """Two PNGs (lag, prompt) per workload in ``series``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(directory, exist_ok=True)
    written = []
    for name in sorted({name for name, _ in series}):
        for stem, panels in PANELS:
            figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
            for axis, (field, quantile, label) in zip(axes[0], panels, strict=True):
                for mode in MODES:
                    _draw(axis, series.get((name, mode), []), field, quantile, mode)
                axis.set_xscale("log")
                if _spread(series, name, field, quantile) > 20:
                    axis.set_yscale("log")  # seconds at 10k beside tenths at 1k: both must stay readable
                axis.set_title(name)
                axis.set_xlabel("jobs monitored (N)")
                axis.set_ylabel(label)
                axis.legend()
            figure.tight_layout()
            path = os.path.join(directory, f"{stem}-{file_stem(name)}.png")
            figure.savefig(path, dpi=90)
            plt.close(figure)
            written.append(path)
    return written


def _spread(series: Series, name: str, field: str, quantile: str) -> float:
    """Largest over smallest value drawn on one panel (1 when there is nothing to compare)."""
    values = [run[field][quantile] for mode in MODES for run in series.get((name, mode), [])]
    positive = [v for v in values if v > 0]
    return max(positive) / min(positive) if positive else 1.0


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
