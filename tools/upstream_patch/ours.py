"""Our files as they go into Ganga's tree: which are there, where each goes, and their imports rewritten.

A :class:`Placement` maps files of this repository (globs relative to a
source directory, matched with :func:`fnmatch.fnmatch`, so ``*`` crosses
directories) to a directory of Ganga's tree.  A placement with ``rest=True``
takes every file under its source directory that no other placement of the
series claims: files our colleagues add later are carried into the series
without a change here.  :func:`rewrite_python` turns our package's imports
into the in-tree package's (:data:`TARGET`).
"""

from __future__ import annotations

import ast
import fnmatch
import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "GangaMonitoring"
"""Our package's import name."""

TARGET = "GangaCore.Core.MonitoringComponent"
"""Its import name inside Ganga."""

TARGET_DIR = "ganga/GangaCore/Core/MonitoringComponent"
"""Its directory in Ganga's tree."""

ROOT_MODULE = "runtime_package.py"
"""Where our package's ``__init__.py`` goes: Ganga's ``MonitoringComponent/__init__.py`` stays Ganga's (not
``runtime.py``: our ``runtime/`` package has that name)."""

SKIPPED_PARTS = ("__pycache__", ".mypy_cache", ".pytest_cache")


@dataclass(frozen=True)
class Placement:
    """Files of ours (``include`` globs under ``source``, less ``exclude``) copied under ``dest``.

    ``rename`` maps a source-relative path to another; ``rewrite`` says whether Python files
    get their imports rewritten (:func:`rewrite_python`).
    """

    source: str
    dest: str
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    rest: bool = False
    rename: dict[str, str] = field(default_factory=dict)
    rewrite: bool = True
    again: bool = False
    """Copies again files an earlier placement put there (whole, after provisional fixups): claims nothing."""

    def matches(self, relative: str) -> bool:
        return (any(fnmatch.fnmatch(relative, pattern) for pattern in self.include)
                and not any(fnmatch.fnmatch(relative, pattern) for pattern in self.exclude))

    def target(self, relative: str) -> str:
        return f"{self.dest}/{self.rename.get(relative, relative)}"


def files_under(repo: Path, source: str) -> list[str]:
    """Every file under ``repo/source`` (relative, posix), caches and compiled files left out."""
    base = repo / source
    if base.is_file():
        return [base.name]
    return sorted(p.relative_to(base).as_posix() for p in base.rglob("*")
                  if p.is_file() and not set(p.relative_to(base).parts) & set(SKIPPED_PARTS)
                  and p.suffix not in (".pyc", ".pyo"))


def select(repo: Path, placement: Placement, others: Iterable[Placement]) -> list[str]:
    """The files ``placement`` copies: its own matches, or (``rest``) those no other placement claims."""
    files = [f for f in files_under(repo, placement.source) if placement.matches(f)]
    if not placement.rest:
        return files
    claimed = [o for o in others if o is not placement and o.source == placement.source and not o.again]
    return [f for f in files if not any(o.matches(f) for o in claimed)]


def root_names(repo: Path) -> frozenset[str]:
    """Names our package's ``__init__.py`` defines that are not submodules (they move to :data:`ROOT_MODULE`)."""
    package = repo / "src" / PACKAGE
    tree = ast.parse((package / "__init__.py").read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Try):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Assign):
                    names.update(t.id for t in inner.targets if isinstance(t, ast.Name))
    submodules = {p.stem for p in package.iterdir()}
    return frozenset(names - submodules)


class RewriteError(RuntimeError):
    """An import of ours the rewrite cannot express in the in-tree package."""


_FROM_IMPORT = re.compile(r"^(?P<indent>\s*)from (?P<module>\.+|GangaMonitoring) import (?P<names>[^()#\n]+?)"
                          r"(?P<tail>\s*(#.*)?)$", re.MULTILINE)
_DOTTED = re.compile(r"\bGangaMonitoring(?=\.[A-Za-z_])")
_BARE_IMPORT = re.compile(r"^(?P<indent>\s*)import GangaMonitoring(?P<tail>\s*(#.*)?)$", re.MULTILINE)
_FIRST_IMPORT = re.compile(r"^(?P<indent>[ \t]*)(from|import) GangaMonitoring\b", re.MULTILINE)
_PATH_HACK = "import ganga  # noqa: F401 - puts GangaCore on sys.path (Ganga's conftest does it for tests)\n"
_ROOT_LOGGER = re.compile(r"""getLogger\((?P<q>["'])GangaMonitoring(?P=q)\)""")
_SOURCE_PATH = re.compile(r'Path\(__file__\)\.parents\[\d+\] / "src" / "GangaMonitoring"')


_IMPORT_IN_STRING = re.compile(r"(?P<newline>\A|\n|\\n)(?P<indent>[ \t]*)(from|import) GangaMonitoring\b")


def _string_spans(text: str) -> list[tuple[int, int]]:
    """Where the string literals of ``text`` are (offsets); none if it does not tokenize."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    return [(starts[t.start[0] - 1] + t.start[1], starts[t.end[0] - 1] + t.end[1])
            for t in tokens if t.type == tokenize.STRING]


def _path_hack_in_scripts(text: str) -> str:
    """``import ganga`` before the first import of ours in each string literal (a script a test runs).

    The script runs with ``python -c`` in a process of its own, where an installed Ganga's
    GangaCore is importable only after ``import ganga``; the import goes in as the script writes
    its lines (a real newline, or ``\\n`` in a one-line string).
    """
    for start, end in reversed(_string_spans(text)):
        found = _IMPORT_IN_STRING.search(text, start, end)
        if found is None:
            continue
        newline = found["newline"] or "\n"
        at = found.end("newline")
        text = text[:at] + found["indent"] + "import ganga" + (newline if newline == "\\n" else "\n") + text[at:]
    return text


def rewrite_python(text: str, depth: int | None, names_at_root: frozenset[str]) -> str:
    """``text`` with our package's imports made the in-tree package's.

    Logger names follow (``GangaMonitoring`` and ``GangaMonitoring.x`` are
    ``{TARGET}`` and ``{TARGET}.x``: ``[Logging]`` sets them as Ganga's own).
    ``depth`` is the module's depth inside our package (0 for a top-level module, None
    for a file outside it, such as a test, which gets ``import ganga`` before its first import
    of ours): ``from . import name`` of a name our
    ``__init__`` defines becomes an import from :data:`ROOT_MODULE`.  Raises
    :class:`RewriteError` for an import that mixes such names with submodules.
    """
    runtime = f"{TARGET}.{ROOT_MODULE.removesuffix('.py')}"
    first = None
    if depth is None:
        text = _path_hack_in_scripts(text)
        strings = _string_spans(text)
        first = next((m for m in _FIRST_IMPORT.finditer(text)
                      if not any(start <= m.start() < end for start, end in strings)), None)
    if depth is None and first is not None:
        # outside the package (a test, or a script a test runs in a process of its own): an installed
        # Ganga's GangaCore is importable only once ``ganga`` has put it on sys.path
        text = text[:first.start()] + first["indent"] + _PATH_HACK + text[first.start():]

    def from_import(match: re.Match[str]) -> str:
        module, names = match["module"], [n.strip() for n in match["names"].split(",")]
        to_root = module == PACKAGE or (depth is not None and module == "." * (depth + 1))
        at_root = [n for n in names if n.split(" as ")[0] in names_at_root]
        if not to_root or not at_root:
            return match[0]
        if len(at_root) != len(names):
            raise RewriteError(f"{match[0].strip()!r} mixes names of our __init__ with submodules")
        return f"{match['indent']}from {runtime} import {match['names']}{match['tail']}"

    text = _FROM_IMPORT.sub(from_import, text)
    text = _BARE_IMPORT.sub(lambda m: f"{m['indent']}from GangaCore.Core import MonitoringComponent as "
                                      f"GangaMonitoring{m['tail']}", text)
    text = _SOURCE_PATH.sub(f'Path(__import__("{TARGET}", fromlist=["_"]).__file__).parent', text)
    text = re.sub(r"\bfrom GangaMonitoring import\b", f"from {TARGET} import", text)
    # loggers: "GangaMonitoring.x" become "<TARGET>.x" below, so their parent is renamed too
    text = _ROOT_LOGGER.sub(f'getLogger("{TARGET}")', text)
    return _DOTTED.sub(TARGET, text)


def copy_placed(repo: Path, tree: Path, placement: Placement, files: Iterable[str],
                names_at_root: frozenset[str]) -> list[str]:
    """Copy ``files`` of ``placement`` into ``tree`` (rewritten where asked); return the tree paths written."""
    written = []
    in_package = placement.source == f"src/{PACKAGE}"
    for relative in files:
        source = repo / placement.source / relative if (repo / placement.source).is_dir() \
            else repo / placement.source
        target = placement.target(relative)
        destination = tree / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        if placement.rewrite and source.suffix == ".py":
            depth = len(Path(relative).parts) - 1 if in_package else None
            text = rewrite_python(source.read_text(), depth, names_at_root)
            destination.write_text(text)
        else:
            destination.write_bytes(source.read_bytes())
        written.append(target)
    return written
