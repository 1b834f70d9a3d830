"""Build the series: a branch in a clone of Ganga, one commit per step of the manifest.

:func:`build` clones the given checkout (or bare clone) unless told to use
an existing clone, checks out the base revision on a new branch, and for
each :class:`~.manifest.Step` copies our files, applies its edits and
fixups, commits exactly the paths it touched (a snapshot may lack a few
large blobs of Ganga's, which must not be committed as deletions), and runs
the checks asked for.  Then ``git format-patch`` writes the series, and
:func:`summary_markdown` tabulates it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import checks
from .edits import apply_edit
from .manifest import SERIES, Step
from .ours import PACKAGE, TARGET, TARGET_DIR, Placement, copy_placed, files_under, root_names, select

AUTHOR = ("GangaMonitoring upstream-patch generator", "gangamonitoring@localhost")


class BuildError(RuntimeError):
    """The series could not be built (a git command failed, a file of ours was placed nowhere, ...)."""


@dataclass
class CommitRecord:
    """One commit made: what it holds and what its checks found."""

    step: Step
    sha: str
    files: list[str]
    added: int
    removed: int
    notes: list[str] = field(default_factory=list)
    checks: list[checks.CheckResult] = field(default_factory=list)


def git(repo: Path, *args: str, check: bool = True) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": AUTHOR[0], "GIT_AUTHOR_EMAIL": AUTHOR[1],
           "GIT_COMMITTER_NAME": AUTHOR[0], "GIT_COMMITTER_EMAIL": AUTHOR[1]}
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env)
    if check and done.returncode != 0:
        raise BuildError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}")
    return done.stdout


def prepare_clone(checkout: Path, clone: Path, base: str, branch: str) -> str:
    """A clone of ``checkout`` at ``clone`` with ``branch`` made at ``base`` and checked out; returns base's sha.

    A snapshot may lack some large blobs (a few of Ganga's documentation images): their checkout
    fails, the rest of the tree is there, and the index still names them.
    """
    if not (clone / ".git").exists():
        clone.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(checkout), str(clone)], check=True)
    sha = git(clone, "rev-parse", "--verify", f"{base}^{{commit}}").strip()
    git(clone, "checkout", "--quiet", "--force", "-B", branch, sha, check=False)
    if git(clone, "rev-parse", "HEAD").strip() != sha:
        raise BuildError(f"could not check out {base} ({sha}) in {clone}")
    # the index from the commit's trees alone: commits then reuse the trees of directories they do
    # not touch, and need no blob the snapshot lacks
    git(clone, "read-tree", "HEAD")
    git(clone, "clean", "-fdq", "--", "ganga")
    return sha


def check_coverage(repo: Path) -> list[str]:
    """Files of our package that no step places (the series would miss them)."""
    placements = [p for step in SERIES for p in step.placements]
    package = f"src/{PACKAGE}"
    placed = {f for p in placements if p.source == package for f in select(repo, p, placements)}
    return [f"{package}/{f}" for f in files_under(repo, package) if f not in placed]


def _place(repo: Path, tree: Path, step: Step, names: frozenset[str]) -> list[str]:
    everyone: list[Placement] = [p for s in SERIES for p in s.placements]
    written = []
    for placement in step.placements:
        written += copy_placed(repo, tree, placement, select(repo, placement, everyone), names)
    return written


def _numstat(tree: Path, sha: str) -> tuple[int, int]:
    added = removed = 0
    for line in git(tree, "show", "--numstat", "--format=", sha).splitlines():
        plus, minus, _ = line.split("\t", 2)
        if plus != "-":
            added, removed = added + int(plus), removed + int(minus)
    return added, removed


def make_commit(repo: Path, tree: Path, step: Step, names: frozenset[str]) -> CommitRecord:
    """Apply ``step`` to the tree and commit it; raises if it changes nothing."""
    touched = _place(repo, tree, step, names)
    notes = []
    for edit in step.edits:
        target = apply_edit(tree, edit)
        touched.append(target.relative_to(tree).as_posix())
        notes.append(edit.why or edit.describe())
    for fixup in step.fixups:
        notes += fixup(repo, tree)
        changed = git(tree, "ls-files", "--modified", "--others", "--exclude-standard").splitlines()
        touched += [p for p in changed if p not in touched and (tree / p).exists()]  # not a blob it lacks
    git(tree, "add", "--", *sorted(set(touched)))
    if not git(tree, "diff", "--cached", "--name-only").strip():
        raise BuildError(f"step {step.key} changed nothing")
    message = f"{step.subject}\n\n{step.body}\n"
    if notes:
        message += "\n" + "".join(f"- {note}\n" for note in notes)
    git(tree, "commit", "--quiet", "--no-verify", "-m", message)
    sha = git(tree, "rev-parse", "HEAD").strip()
    files = git(tree, "show", "--name-only", "--format=", sha).split()
    added, removed = _numstat(tree, sha)
    return CommitRecord(step, sha, files, added, removed, notes)


def build(repo: Path, checkout: Path, out: Path, base: str, branch: str = "monitoring-component",
          clone: Path | None = None, wanted_checks: tuple[str, ...] = (), python: str | None = None,
          progress: Callable[[str], None] = print) -> tuple[str, list[CommitRecord]]:
    """Build the series; returns the base's sha and the commits made (checks run as asked)."""
    missing = check_coverage(repo)
    if missing:
        raise BuildError(f"files of ours no step of the series places: {', '.join(missing)}")
    clone = clone or out / "ganga"
    base_sha = prepare_clone(checkout, clone, base, branch)
    progress(f"base {base} = {base_sha[:10]}; branch {branch} in {clone}")
    names = root_names(repo)
    checker = checks.tree_python(clone, python or sys.executable, out / "tree-venv") if wanted_checks else ""
    records = []
    for number, step in enumerate(SERIES, 1):
        record = make_commit(repo, clone, step, names)
        progress(f"[{number}/{len(SERIES)}] {record.sha[:10]} {step.subject} "
                 f"({len(record.files)} files, +{record.added} -{record.removed})")
        if "import" in wanted_checks or "unit" in wanted_checks:
            wired = tuple(m for s in SERIES[:number] for m in s.imports)
            modules = wired + tuple(m for m in checks.package_modules(clone, TARGET_DIR, TARGET) if m not in wired)
            record.checks.append(checks.check_imports(clone, modules, checker))
        if "unit" in wanted_checks:
            record.checks.append(checks.check_unit(clone, checker))
            git(clone, "clean", "-fdq", "--", "ganga")  # the suite's gangadir, inside the tree
        for result in record.checks:
            verdict = "ok" if result.ok else "FAILED"
            progress(f"    {result.name}: {verdict} - {result.summary} ({result.seconds:.0f} s)")
            if not result.ok:
                log = out / f"check-{number:02d}-{step.key}-{result.name}.log"
                log.write_text(result.output)
                progress(f"    output in {log}")
        records.append(record)
    patches = out / "patches"
    shutil.rmtree(patches, ignore_errors=True)
    git(clone, "format-patch", "--quiet", "-o", str(patches.resolve()), f"{base_sha}..{branch}")
    return base_sha, records


def summary_markdown(base: str, base_sha: str, branch: str, records: list[CommitRecord]) -> str:
    """The series as a markdown table: commits, files, lines added and removed, checks."""
    lines = [f"# Upstream patch series on Ganga {base} ({base_sha[:10]}), branch `{branch}`", "",
             "| # | commit | subject | files | + | - | checks |", "|---|---|---|---|---|---|---|"]
    for number, record in enumerate(records, 1):
        found = "; ".join(f"{c.name}: {'ok' if c.ok else 'FAILED'} ({c.summary}, {c.seconds:.0f} s)"
                          for c in record.checks) or "not run"
        lines.append(f"| {number} | `{record.sha[:10]}` | {record.step.subject} | {len(record.files)} | "
                     f"{record.added} | {record.removed} | {found} |")
    total_added = sum(r.added for r in records)
    total_removed = sum(r.removed for r in records)
    lines += ["", f"{len(records)} commits, +{total_added} -{total_removed} lines.", ""]
    for number, record in enumerate(records, 1):
        lines += [f"## {number}. {record.step.subject}", "", record.step.body, ""]
        lines += [f"- {note}" for note in record.notes]
        lines += ["", "Files:", ""] + [f"- `{f}`" for f in record.files[:40]]
        if len(record.files) > 40:
            lines.append(f"- ... and {len(record.files) - 40} more")
        lines.append("")
    return "\n".join(lines)
