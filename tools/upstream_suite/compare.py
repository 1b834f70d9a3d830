"""Compare two runs of upstream's suite (JUnit XML): every test that passed in the first must pass in the second.

    python tools/upstream_suite/compare.py results/upstream/stock.xml results/upstream/patched.xml

Prints each run's counts (passed, failed, errors, skipped) and the tests that passed in the first run but
not in the second (absent counts as not passed); exits 1 if there is any.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path


def outcomes(junit: Path) -> dict[str, str]:
    """Test id (``classname::name``) -> passed, failed, error or skipped."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        children = {child.tag for child in case}
        outcome = next((tag for tag in ("failure", "error", "skipped") if tag in children), "passed")
        found[f"{case.get('classname')}::{case.get('name')}"] = {"failure": "failed"}.get(outcome, outcome)
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    before, after = (outcomes(Path(a)) for a in argv)
    for name, run in zip(argv, (before, after), strict=True):
        counts = Counter(run.values())
        print(f"{name}: {len(run)} tests: " + ", ".join(f"{counts[k]} {k}" for k in
                                                          ("passed", "failed", "error", "skipped")))
    lost = sorted(t for t, outcome in before.items() if outcome == "passed" and after.get(t) != "passed")
    new = sorted(t for t in after if t not in before)
    print(f"{len(new)} tests only in the second run; {len(lost)} passed in the first and not in the second")
    for test in lost:
        print(f"  {test}: {after.get(test, 'absent')}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
