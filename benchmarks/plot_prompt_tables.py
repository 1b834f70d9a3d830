"""Plots of p50 and max per prompt operation vs subjobs, stock vs ours, from the JSON `prompt_tables.py` writes.

One PNG per workload (path and release pattern: ``prompt-tables-compat-burst.png``, ...), one panel
per operation (the ``jobs`` table, the 1,000-row subjob table, ``print(j)``, a write, a status
read), log scales; p50 solid, max dashed; a size run several times is the median of its runs'
values.  Files of several days make one picture: a later file's runs of a size and monitoring
replace an earlier file's (pass the files oldest first).

    python benchmarks/plot_prompt_tables.py docs/data/prompt-tables-*.json   # docs/img/prompt-tables-*.png
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
KINDS = ("jobs table", "subjob table", "print(j)", "write j.comment", "status read")
COLOURS = {"stock": "tab:red", "ours": "tab:blue"}
TARGETS_MS = {"jobs table": 30.0, "write j.comment": 20.0, "status read": 10.0}
"""Issue 32's absolute targets (ours), drawn dotted: the jobs table's p50, a write's and a read's max (the two tables'
other target is max <= 1.5x p50)."""
Runs = dict[str, dict[str, dict[int, list[dict[str, Any]]]]]
"""workload -> mode -> subjobs -> the runs' ``ops`` (kind -> {p50, max, ...} in ms)."""


def workload(figures: dict[str, Any]) -> str:
    """``compat-burst``, ``native-steady``, ...: the file's path and release pattern."""
    return f"{'compat' if figures['compat'] else 'native'}-{'burst' if figures['burst'] else 'steady'}"


def load(paths: list[str]) -> Runs:
    """Every file's runs by workload, mode and size; a later file's runs of one (workload, mode, size) replace
    an earlier file's."""
    runs: Runs = defaultdict(lambda: defaultdict(dict))
    for path in paths:
        with open(path) as handle:
            figures = json.load(handle)
        for run in figures["runs"]:
            for mode in MODES:
                if run.get(mode):
                    runs[workload(figures)][mode][run["size"]] = [r["ops"] for r in run[mode]]
    return runs


def median_of(ops: list[dict[str, Any]], kind: str, stat: str) -> float | None:
    values = [o[kind][stat] for o in ops if kind in o and o[kind].get(stat) is not None]
    return statistics.median(values) if values else None


def plot(name: str, by_mode: dict[str, dict[int, list[dict[str, Any]]]], out_dir: str, note: str = "") -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, axes = plt.subplots(1, len(KINDS), figsize=(3.2 * len(KINDS), 3.4), sharex=True)
    for axis, kind in zip(axes, KINDS, strict=True):
        for mode, sizes in by_mode.items():
            for stat, style in (("p50", "-o"), ("max", "--s")):
                points = [(n, median_of(sizes[n], kind, stat)) for n in sorted(sizes)]
                points = [(n, v) for n, v in points if v is not None]
                if points:
                    axis.plot([n for n, _ in points], [max(v, 0.01) for _, v in points], style,
                              color=COLOURS[mode], label=f"{mode} {stat}")
        if kind in TARGETS_MS:
            axis.axhline(TARGETS_MS[kind], color="grey", linestyle=":", label="target")
        axis.set_title(kind, fontsize=10)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xticks([3000, 10000], ["3k", "10k"])
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.set_xlim(2000, 15000)
        axis.set_xlabel("subjobs (masters of 1,000)")
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("ms")
    axes[-1].legend(fontsize=8)
    path_name, pattern = name.split("-")
    fig.suptitle(f"the prompt while monitoring works: {path_name} path, {pattern} (medians of the runs; "
                 f"p50 solid, max dashed){note}", fontsize=11)
    fig.tight_layout()
    out = os.path.join(out_dir, f"prompt-tables-{name}.png")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", help="prompt_tables.py JSON files, oldest first")
    parser.add_argument("--out", default="docs/img")
    parser.add_argument("--note", default="", help="appended to each title (the machine's load, say)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, by_mode in sorted(load(args.files).items()):
        print(plot(name, by_mode, args.out, f"; {args.note}" if args.note else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
