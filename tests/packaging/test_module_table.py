"""docs/architecture.md's module table names every module of the package, and only those.

The table is where a newcomer learns what each module does; a module added,
moved or removed without its row would make it drift from the tree.  One row
per ``.py`` file under ``src/GangaMonitoring`` (``__init__.py`` included), in
a table headed ``| module | one idea |``; the one directory row is
``simulator/fakedirac/``, a fake DIRAC client installation (a package tree of
DIRAC's, not modules of ours).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "src" / "GangaMonitoring"
DOC = ROOT / "docs" / "architecture.md"
WHOLE_TREES = ("simulator/fakedirac/",)
"""Directories that are one row: every file under them is covered by it."""


def table_rows() -> list[str]:
    """The first cell of each row of the module table, without its backquotes."""
    lines = DOC.read_text().splitlines()
    start = lines.index("| module | one idea |")
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        match = re.match(r"\| `([^`]+)` \| (.+) \|$", line)
        assert match, f"a row of the module table is not '| `path` | what it does |': {line!r}"
        rows.append(match.group(1))
    return rows


def package_modules() -> set[str]:
    found = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    return {f for f in found if not f.startswith(WHOLE_TREES)} | {t for t in WHOLE_TREES
                                                                    if any(f.startswith(t) for f in found)}


def test_every_module_has_one_row_and_every_row_a_module() -> None:
    rows = table_rows()
    duplicates = sorted({r for r in rows if rows.count(r) > 1})
    assert not duplicates, f"modules with more than one row in docs/architecture.md: {duplicates}"
    modules = package_modules()
    assert not modules - set(rows), f"modules without a row in docs/architecture.md: {sorted(modules - set(rows))}"
    assert not set(rows) - modules, f"rows naming no module of src/GangaMonitoring: {sorted(set(rows) - modules)}"


def test_the_table_is_read_whole() -> None:
    """The parser stops at the table's end, not at a row it cannot read: the last row is the last module's."""
    rows = table_rows()
    assert len(rows) > 100 and rows[0] == "__init__.py"
