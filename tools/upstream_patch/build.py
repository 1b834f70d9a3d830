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

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import checks
from .edits import apply_edit
from .manifest import INDEPENDENT, LEFT_OUT, SERIES, Step
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
    code_added: int = 0
    """Lines added outside test directories (``/test/``)."""
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


SDIST_SKIPPED = ("PKG-INFO", "ganga.egg-info/")
"""Files of an sdist that are packaging artefacts, not Ganga's tree."""


def sdist_base(clone: Path, sdist: Path, on: str) -> str:
    """Commit the tree of Ganga's sdist ``sdist`` over revision ``on`` in ``clone`` (checked out); returns its sha.

    Every file of the sdist (less :data:`SDIST_SKIPPED`) replaces the revision's; files the sdist
    does not carry (Ganga's tests, CI, scripts not packaged) stay as the revision has them: the sdist
    is not the whole repository, and a file it lacks was not packaged, not deleted.
    """
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    with tempfile.TemporaryDirectory(prefix="ganga-sdist-") as unpacked:
        with tarfile.open(sdist) as archive:
            archive.extractall(unpacked, filter="data")
        [top] = [p for p in Path(unpacked).iterdir() if p.is_dir()]
        files = sorted(p.relative_to(top).as_posix() for p in top.rglob("*") if p.is_file() or p.is_symlink())
        files = [f for f in files if not f.startswith(SDIST_SKIPPED)]
        for relative in files:
            destination = clone / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            if destination.is_symlink() or destination.exists():
                destination.unlink()
            shutil.copy2(top / relative, destination, follow_symlinks=False)
        for start in range(0, len(files), 500):
            git(clone, "add", "--", *files[start:start + 500])
        version = top.name
    on_sha = git(clone, "rev-parse", "--short=10", on).strip()
    changed = git(clone, "diff", "--cached", "--name-only").split()
    git(clone, "commit", "--quiet", "--no-verify", "--allow-empty", "-m",
        f"Base: the tree of {sdist.name}, Ganga as released on PyPI ({version})\n\n"
        f"Not a commit of ganga-devs/ganga: the snapshot of the repository at hand ends at {on} ({on_sha})\n"
        f"and has no tag of this release. This commit puts every file of PyPI's sdist {sdist.name}\n"
        f"(sha256 {digest}) over {on}'s tree, less PKG-INFO and ganga.egg-info/; files the sdist\n"
        f"does not carry (Ganga's tests, CI files, unpackaged scripts) are {on}'s.\n"
        f"{len(changed)} files differ from {on}.\n")
    return git(clone, "rev-parse", "HEAD").strip()


def check_coverage(repo: Path) -> list[str]:
    """Files of our package that no step places and :data:`~.manifest.LEFT_OUT` does not name."""
    placements = [p for step in SERIES for p in step.placements]
    package = f"src/{PACKAGE}"
    placed = {f for p in placements if p.source == package for f in select(repo, p, placements)}
    left_out = Placement(package, "", include=LEFT_OUT)
    return [f"{package}/{f}" for f in files_under(repo, package) if f not in placed and not left_out.matches(f)]


def _place(repo: Path, tree: Path, step: Step, names: frozenset[str]) -> list[str]:
    everyone: list[Placement] = [p for s in SERIES for p in s.placements]
    written = []
    for placement in step.placements:
        written += copy_placed(repo, tree, placement, select(repo, placement, everyone), names)
    return written


def _numstat(tree: Path, sha: str) -> tuple[int, int, int]:
    """Lines added, removed, and added outside test directories, by ``sha``."""
    added = removed = code = 0
    for line in git(tree, "show", "--numstat", "--format=", sha).splitlines():
        plus, minus, name = line.split("\t", 2)
        if plus != "-":
            added, removed = added + int(plus), removed + int(minus)
            code += 0 if "/test/" in name else int(plus)
    return added, removed, code


def make_commit(repo: Path, tree: Path, step: Step, names: frozenset[str]) -> CommitRecord:
    """Apply ``step`` to the tree and commit it; raises if it changes nothing."""
    touched = _place(repo, tree, step, names)
    notes = []
    for edit in step.edits:
        target = apply_edit(tree, edit)
        if target is None:  # an optional edit this base does not need
            continue
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
    added, removed, code = _numstat(tree, sha)
    return CommitRecord(step, sha, files, added, removed, code, notes)


@dataclass
class BuildResult:
    """The series built: its base, its commits, the patches left at its tip and how far it rebases."""

    base: str
    base_sha: str
    records: list[CommitRecord]
    independent_branch: str = ""
    leftovers: checks.CheckResult | None = None
    rebase: list[tuple[str, str]] = field(default_factory=list)
    """(subject, "applies" or "conflicts: files" or "not tried"), per commit, onto ``rebase_onto``."""
    rebase_onto: str = ""


def rebase_report(clone: Path, base_sha: str, branch: str, onto: str) -> list[tuple[str, str]]:
    """Cherry-pick the series' commits one by one onto ``onto`` (branch ``<branch>-on-<onto>``): which apply.

    A commit that conflicts is left out (its conflict aborted) and the next ones are still tried, so
    the report says each commit's own fate, given the ones before it that applied.
    """
    shas = git(clone, "rev-list", "--reverse", f"{base_sha}..{branch}").split()
    target = f"{branch}-on-{onto.replace('/', '-')}"
    git(clone, "checkout", "--quiet", "--force", "-B", target, onto, check=False)
    git(clone, "read-tree", "HEAD")
    git(clone, "clean", "-fdq", "--", "ganga")
    found = []
    for sha in shas:
        subject = git(clone, "log", "-1", "--format=%s", sha).strip()
        done = subprocess.run(["git", "-C", str(clone), "cherry-pick", "--allow-empty", sha], capture_output=True,
                              text=True, env={**os.environ, "GIT_COMMITTER_NAME": AUTHOR[0],
                                              "GIT_COMMITTER_EMAIL": AUTHOR[1]})
        if done.returncode == 0:
            found.append((subject, "applies"))
            continue
        conflicted = git(clone, "diff", "--name-only", "--diff-filter=U", check=False).split()
        git(clone, "cherry-pick", "--abort", check=False)
        git(clone, "reset", "--quiet", "--hard", "HEAD", check=False)
        found.append((subject, "conflicts: " + (", ".join(conflicted) or done.stderr.strip().splitlines()[-1])))
    git(clone, "checkout", "--quiet", "--force", branch, check=False)
    return found


def build(repo: Path, checkout: Path, out: Path, base: str, branch: str = "monitoring-component",
          clone: Path | None = None, wanted_checks: tuple[str, ...] = (), python: str | None = None,
          progress: Callable[[str], None] = print, sdist: Path | None = None,
          rebase_onto: str = "", unit_at: tuple[int, ...] | None = None) -> BuildResult:
    """Build the series; returns the base, the commits made (checks run as asked) and what else was asked.

    ``sdist``: the base is that sdist's tree committed over ``base`` (:func:`sdist_base`).
    ``unit_at``: the commits (1-based) the Unit check runs on, if not all.  Whenever a check is
    asked, the tip is also checked for load-time patches left on files the series edits.
    """
    missing = check_coverage(repo)
    if missing:
        raise BuildError(f"files of ours no step of the series places: {', '.join(missing)}")
    clone = clone or out / "ganga"
    base_sha = prepare_clone(checkout, clone, base, branch)
    described = base
    if sdist is not None:
        base_sha = sdist_base(clone, sdist, base)
        described = f"{sdist.name} over {base}"
    progress(f"base {described} = {base_sha[:10]}; branch {branch} in {clone}")
    names = root_names(repo)
    checker = checks.tree_python(clone, python or sys.executable, out / "tree-venv") if wanted_checks else ""
    result = BuildResult(described, base_sha, [])
    for number, step in enumerate(SERIES, 1):
        record = make_commit(repo, clone, step, names)
        progress(f"[{number}/{len(SERIES)}] {record.sha[:10]} {step.subject} "
                 f"({len(record.files)} files, +{record.added} -{record.removed})")
        if number == len(INDEPENDENT):
            result.independent_branch = f"{branch}-independent"
            git(clone, "branch", "--force", result.independent_branch, record.sha)
        if "import" in wanted_checks or "unit" in wanted_checks:
            wired = tuple(m for s in SERIES[:number] for m in s.imports)
            modules = wired + tuple(m for m in checks.package_modules(clone, TARGET_DIR, TARGET) if m not in wired)
            record.checks.append(checks.check_imports(clone, modules, checker))
        if "unit" in wanted_checks and (unit_at is None or number in unit_at or
                                        (number - len(SERIES) - 1) in unit_at):
            record.checks.append(checks.check_unit(clone, checker))
            git(clone, "clean", "-fdq", "--", "ganga")  # the suite's gangadir, inside the tree
        _report(out, number, record, progress)
        result.records.append(record)
    if wanted_checks:
        edited = sorted({f for r in result.records for f in r.files
                         if f.startswith("ganga/") and not f.startswith(TARGET_DIR) and "/test/" not in f})
        result.leftovers = checks.check_leftover_patches(clone, edited, checker)
        git(clone, "clean", "-fdq", "--", "ganga")
        progress(f"    leftover patches: {'ok' if result.leftovers.ok else 'FAILED'} - {result.leftovers.summary}")
    patches = out / "patches"
    shutil.rmtree(patches, ignore_errors=True)
    git(clone, "format-patch", "--quiet", "-o", str(patches.resolve()), f"{base_sha}..{branch}")
    if rebase_onto:
        result.rebase_onto = rebase_onto
        result.rebase = rebase_report(clone, base_sha, branch, rebase_onto)
        applied = sum(1 for _, fate in result.rebase if fate == "applies")
        progress(f"onto {rebase_onto}: {applied} of {len(result.rebase)} commits apply")
    return result


def _report(out: Path, number: int, record: CommitRecord, progress: Callable[[str], None]) -> None:
    for check in record.checks:
        verdict = "ok" if check.ok else "FAILED"
        progress(f"    {check.name}: {verdict} - {check.summary} ({check.seconds:.0f} s)")
        if not check.ok:
            log = out / f"check-{number:02d}-{record.step.key}-{check.name}.log"
            log.write_text(check.output)
            progress(f"    output in {log}")


def summary_data(result: BuildResult, branch: str) -> dict[str, object]:
    """The series as data (``OUT/summary.json``): the same figures as :func:`summary_markdown`'s table."""
    def check(found: checks.CheckResult) -> dict[str, object]:
        return {"name": found.name, "ok": found.ok, "summary": found.summary, "seconds": round(found.seconds, 1)}

    return {
        "base": result.base, "base_sha": result.base_sha, "branch": branch,
        "commits": [{"number": number, "key": r.step.key, "sha": r.sha, "subject": r.step.subject,
                     "files": len(r.files), "added": r.added, "removed": r.removed, "added_non_test": r.code_added,
                     "checks": [check(c) for c in r.checks]} for number, r in enumerate(result.records, 1)],
        "leftovers": None if result.leftovers is None else {**check(result.leftovers),
                                                            "listing": result.leftovers.output.splitlines()},
        "rebase_onto": result.rebase_onto,
        "rebase": [{"subject": subject, "fate": fate} for subject, fate in result.rebase],
    }


def summary_markdown(result: BuildResult, branch: str) -> str:
    """The series as markdown: a table of commits (files, lines, checks), what is left out, leftovers, rebase."""
    lines = [f"# Upstream patch series on Ganga {result.base} ({result.base_sha[:10]}), branch `{branch}`", "",
             f"The independent fixes are commits 1-{len(INDEPENDENT)} (branch `{result.independent_branch}`).", "",
             "| # | commit | subject | files | + | - | + non-test | checks |", "|---|---|---|---|---|---|---|---|"]
    for number, record in enumerate(result.records, 1):
        found = "; ".join(f"{c.name}: {'ok' if c.ok else 'FAILED'} ({c.summary}, {c.seconds:.0f} s)"
                          for c in record.checks) or "not run"
        lines.append(f"| {number} | `{record.sha[:10]}` | {record.step.subject} | {len(record.files)} | "
                     f"{record.added} | {record.removed} | {record.code_added} | {found} |")
    total_added = sum(r.added for r in result.records)
    total_removed = sum(r.removed for r in result.records)
    largest = max(result.records, key=lambda r: r.code_added)
    lines += ["", f"{len(result.records)} commits, +{total_added} -{total_removed} lines; the largest in non-test "
              f"lines: {largest.step.key} (+{largest.code_added}).", "",
              "Files of our package left out of the series: " + ", ".join(f"`{g}`" for g in LEFT_OUT) + ".", ""]
    if result.leftovers is not None:
        lines += ["## Load-time patches left at the tip", "",
                  f"{'ok' if result.leftovers.ok else 'FAILED'}: {result.leftovers.summary}", "", "```",
                  result.leftovers.output.strip(), "```", ""]
    if result.rebase:
        applied = sum(1 for _, fate in result.rebase if fate == "applies")
        lines += [f"## Onto {result.rebase_onto}: {applied} of {len(result.rebase)} commits apply", ""]
        lines += [f"{n}. {subject}: {fate}" for n, (subject, fate) in enumerate(result.rebase, 1)] + [""]
    for number, record in enumerate(result.records, 1):
        lines += [f"## {number}. {record.step.subject}", "", record.step.body, ""]
        lines += [f"- {note}" for note in record.notes]
        lines += ["", "Files:", ""] + [f"- `{f}`" for f in record.files[:40]]
        if len(record.files) > 40:
            lines.append(f"- ... and {len(record.files) - 40} more")
        lines.append("")
    return "\n".join(lines)
