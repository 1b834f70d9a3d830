"""``python -m tools.upstream_patch --checkout PATH --out DIR [--base REV] [--check import|unit]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .build import BuildError, build, summary_data, summary_markdown
from .edits import AnchorNotFound

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.upstream_patch", description=__doc__)
    parser.add_argument("--checkout", required=True, type=Path,
                        help="a git checkout or bare clone of ganga-devs/ganga")
    parser.add_argument("--out", required=True, type=Path, help="output directory: patches/, summary.md, the clone")
    parser.add_argument("--base", default="develop",
                        help="the Ganga revision to build on, or to put --sdist's tree on (default: develop)")
    parser.add_argument("--sdist", type=Path, help="Ganga's sdist (ganga-8.7.12.tar.gz): its tree is the base, "
                                                   "committed over --base")
    parser.add_argument("--rebase-onto", default="", help="also cherry-pick the series onto this revision and "
                                                          "report which commits apply")
    parser.add_argument("--unit-at", type=int, action="append",
                        help="run the Unit check on these commits only (1-based; -1 the last); default all")
    parser.add_argument("--branch", default="monitoring-component", help="the branch made in the clone")
    parser.add_argument("--clone", type=Path, help="an existing clone to build the branch in (default: OUT/ganga)")
    parser.add_argument("--check", action="append", choices=("import", "unit"), default=[],
                        help="check each commit: its tree imports; and Ganga's Unit suite passes on it")
    parser.add_argument("--python", help="the interpreter the checks use (default: this one)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        result = build(REPO, args.checkout.resolve(), args.out.resolve(), args.base, args.branch,
                       args.clone.resolve() if args.clone else None, tuple(args.check), args.python,
                       sdist=args.sdist.resolve() if args.sdist else None, rebase_onto=args.rebase_onto,
                       unit_at=tuple(args.unit_at) if args.unit_at else None)
    except (BuildError, AnchorNotFound) as err:
        print(f"upstream_patch: {err}", file=sys.stderr)
        return 1
    summary = summary_markdown(result, args.branch)
    (args.out / "summary.md").write_text(summary)
    (args.out / "summary.json").write_text(json.dumps(summary_data(result, args.branch), indent=1) + "\n")
    print(summary.split("\n## ")[0])
    print(f"patches in {args.out / 'patches'}, summary in {args.out / 'summary.md'} and summary.json")
    checked = [c for r in result.records for c in r.checks] + ([result.leftovers] if result.leftovers else [])
    return 0 if all(c.ok for c in checked) else 1


if __name__ == "__main__":
    sys.exit(main())
