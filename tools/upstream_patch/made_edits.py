"""Our copied patch modules, less the wrappers the series has made real edits of Ganga.

A load-time patch module of ours wraps several Ganga methods; when a commit
of the series makes one of those changes a real edit of Ganga's file, the
module's copy in the tree must no longer install that wrapper, nor carry it.
:func:`drop_wrappers` is derived from the module's own code: it removes the
named top-level functions, every line that names one of them (the
``_wrap(...)`` calls that install them, one line each), the imports left
unused, and notes in the module's docstring which commit made them edits.
It refuses a result that still names a dropped function or does not parse.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

from .edits import AnchorNotFound
from .ours import TARGET_DIR


def _pruned_imports(source: str) -> str:
    """``source`` less the names its one-line imports (at any depth) bring in and nothing uses."""
    tree = ast.parse(source)
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    exported = set(re.findall(r'"(\w+)"', source.split("__all__", 1)[1])) if "__all__" in source else set()
    lines = source.splitlines(keepends=True)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom) or node.lineno != node.end_lineno:
            continue
        kept = [alias for alias in node.names
                if alias.name == "annotations" or (alias.asname or alias.name).split(".")[0] in used | exported]
        if len(kept) == len(node.names):
            continue
        line = lines[node.lineno - 1]
        indent = line[:len(line) - len(line.lstrip())]
        names = ", ".join(alias.name + (f" as {alias.asname}" if alias.asname else "") for alias in kept)
        head = f"from {'.' * node.level}{node.module or ''} import " if isinstance(node, ast.ImportFrom) else "import "
        lines[node.lineno - 1] = f"{indent}{head}{names}\n" if kept else ""
    return "".join(lines)


def _single_blank_lines_among_imports(source: str) -> str:
    """``source`` with one blank line at most between its top-level imports (where pruned groups left two)."""
    imports = [node for node in ast.parse(source).body if isinstance(node, ast.Import | ast.ImportFrom)]
    if not imports:
        return source
    lines = source.splitlines(keepends=True)
    first, last = imports[0].lineno - 1, imports[-1].end_lineno or imports[-1].lineno
    header = re.sub(r"\n{3,}", "\n\n", "".join(lines[first:last]))
    return "".join(lines[:first]) + header + "".join(lines[last:])


def _docstring_lines(tree: ast.Module) -> set[int]:
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return set(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return set()


def drop_wrappers(module: Path, functions: tuple[str, ...], made_edit_by: str) -> str:
    """Remove ``functions`` from ``module`` (a copy in the tree), with their install lines; return a note.

    The module's docstring is kept (a note is added to it); a line of code naming a dropped
    function is dropped whole, so such a line must be a statement or an element of its own.
    """
    source = module.read_text()
    tree = ast.parse(source)
    spans = [(node.lineno - len(node.decorator_list), node.end_lineno or node.lineno) for node in tree.body
             if isinstance(node, ast.FunctionDef) and node.name in functions]
    if len(spans) != len(functions):
        raise AnchorNotFound(f"{module}: not every one of {', '.join(functions)} is a top-level function there")
    naming = re.compile(r"\b(" + "|".join(map(re.escape, functions)) + r")\b")
    docstring_lines = _docstring_lines(tree)
    lines = source.splitlines(keepends=True)
    dropped = {n for start, end in spans for n in range(start, end + 1)}
    dropped |= {n for n, line in enumerate(lines, 1) if n not in docstring_lines and naming.search(line)}
    kept = "".join(line for n, line in enumerate(lines, 1) if n not in dropped)
    kept = _single_blank_lines_among_imports(_pruned_imports(re.sub(r"\n{4,}", "\n\n\n", kept).rstrip("\n") + "\n"))
    kept_tree = ast.parse(kept)
    code = "".join(line for n, line in enumerate(kept.splitlines(keepends=True), 1)
                   if n not in _docstring_lines(kept_tree))
    if naming.search(code):
        raise AnchorNotFound(f"{module}: {', '.join(functions)} still named after their lines were dropped")
    docstring = ast.get_docstring(kept_tree, clean=False)
    if docstring is not None:
        note = textwrap.fill(f"In this series, what {', '.join(functions)} did is a real edit of Ganga (the "
                             f"commit '{made_edit_by}'): they are not in this copy.", width=100,
                             break_on_hyphens=False)
        kept = kept.replace(docstring, f"{docstring.rstrip()}\n\n{note}\n", 1)
    compile(kept, str(module), "exec")
    module.write_text(kept)
    return f"{module.name}: {', '.join(functions)} dropped (now an edit of Ganga)"


def dropping(module: str, functions: tuple[str, ...], made_edit_by: str) -> Callable[[Path, Path], list[str]]:
    """A step's fixup: :func:`drop_wrappers` on ``module`` (relative to our package in the tree)."""
    def fixup(_repo: Path, tree: Path) -> list[str]:
        return [drop_wrappers(tree / TARGET_DIR / module, functions, made_edit_by)]

    return fixup


def drop_names(module: Path, names: tuple[str, ...], coming_with: str) -> str:
    """Remove the top-level assignments of ``names`` from ``module`` (a copy in the tree); return a note.

    For a module of shared state placed before every module its objects need is in the tree
    (``patches/shared.py``): each assignment goes with the string under it (its attribute
    docstring), the imports left unused go too, and the module's docstring says which commits
    bring the rest.  The commits that bring them place the module again, whole.
    """
    source = module.read_text()
    tree = ast.parse(source)
    body = tree.body
    spans = []
    for n, node in enumerate(body):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) \
            else []
        if any(isinstance(t, ast.Name) and t.id in names for t in targets):
            end = node.end_lineno or node.lineno
            following = body[n + 1] if n + 1 < len(body) else None
            if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant) \
                    and isinstance(following.value.value, str):
                end = following.end_lineno or following.lineno
            spans.append((node.lineno, end))
    if len(spans) != len(names):
        raise AnchorNotFound(f"{module}: not every one of {', '.join(names)} is assigned at its top level")
    dropped = {n for start, end in spans for n in range(start, end + 1)}
    lines = source.splitlines(keepends=True)
    kept = "".join(line for n, line in enumerate(lines, 1) if n not in dropped)
    kept = _single_blank_lines_among_imports(_pruned_imports(kept.rstrip("\n") + "\n"))
    kept_tree = ast.parse(kept)
    code = "".join(line for n, line in enumerate(kept.splitlines(keepends=True), 1)
                   if n not in _docstring_lines(kept_tree))
    if re.search(r"\b(" + "|".join(map(re.escape, names)) + r")\b", code):
        raise AnchorNotFound(f"{module}: {', '.join(names)} still named after their assignments were dropped")
    docstring = ast.get_docstring(kept_tree, clean=False)
    if docstring is not None:
        note = textwrap.fill(f"In this commit {', '.join(names)} are not here yet: they come with {coming_with}.",
                             width=100, break_on_hyphens=False)
        kept = kept.replace(docstring, f"{docstring.rstrip()}\n\n{note}\n", 1)
    compile(kept, str(module), "exec")
    module.write_text(kept)
    return f"{module.name}: without {', '.join(names)} until {coming_with}"


def not_yet(module: str, names: tuple[str, ...], coming_with: str) -> Callable[[Path, Path], list[str]]:
    """A step's fixup: :func:`drop_names` on ``module`` (relative to our package in the tree)."""
    def fixup(_repo: Path, tree: Path) -> list[str]:
        return [drop_names(tree / TARGET_DIR / module, names, coming_with)]

    return fixup
