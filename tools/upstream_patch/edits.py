"""Anchored text edits of files in a Ganga tree, that fail loudly where their anchor is not.

An :class:`Edit` names a file, an exact anchor text and what to do there
(replace it, insert before or after it).  The anchor must occur exactly
``count`` times (once by default) in the file as it is when the edit
applies; otherwise :class:`AnchorNotFound` says which edit, which file and
how many times it was found, so a Ganga revision that moved the code stops
the series at the commit that needs it instead of producing a wrong tree.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path


class Where(enum.Enum):
    """Where an edit puts its text relative to its anchor."""

    REPLACE = "replace"
    """The anchor is replaced by the text."""
    BEFORE = "before"
    """The text goes right before the anchor."""
    AFTER = "after"
    """The text goes right after the anchor."""


class AnchorNotFound(RuntimeError):
    """An edit's anchor is absent (or ambiguous) in the file it edits."""


@dataclass(frozen=True)
class Edit:
    """One anchored edit of one file (``path`` is relative to the tree's root).

    ``why`` is a short phrase for the commit message and the error message.
    ``glob`` (instead of ``path``) edits the one file under the tree, among
    those matching the pattern, that holds the anchor: for edits of our own
    copied modules, whose file may move as our package is restructured.
    """

    path: str
    anchor: str
    text: str
    where: Where = Where.REPLACE
    why: str = ""
    count: int = 1
    glob: bool = False
    optional: bool = False
    """An anchor found nowhere is no error: the edit is for a revision that has it (e.g. only 8.7.4's)."""

    def describe(self) -> str:
        return f"{self.where.value} at {self.anchor.splitlines()[0][:60]!r} in {self.path}" + (
            f" ({self.why})" if self.why else "")


def _resolve(root: Path, edit: Edit) -> Path:
    if not edit.glob:
        target = root / edit.path
        if not target.is_file():
            raise AnchorNotFound(f"{edit.describe()}: no such file {target}")
        return target
    holders = [p for p in sorted(root.glob(edit.path)) if p.is_file() and edit.anchor in p.read_text()]
    if len(holders) != 1:
        raise AnchorNotFound(f"{edit.describe()}: the anchor is in {len(holders)} of the files matching "
                             f"{edit.path} ({', '.join(str(p.relative_to(root)) for p in holders) or 'none'}), "
                             "not in exactly one")
    return holders[0]


def apply_edit(root: Path, edit: Edit) -> Path | None:
    """Apply ``edit`` to the tree at ``root``; return the file edited (None: an optional edit found nothing).

    Raises :class:`AnchorNotFound` unless the anchor occurs exactly ``edit.count`` times.
    """
    target = _resolve(root, edit)
    text = target.read_text()
    found = text.count(edit.anchor)
    if found == 0 and edit.optional:
        return None
    if found != edit.count:
        raise AnchorNotFound(f"{edit.describe()}: the anchor occurs {found} times in "
                             f"{target.relative_to(root)}, expected {edit.count}; has this Ganga revision "
                             "moved the code? Choose another --base or update tools/upstream_patch/manifest.py")
    replacement = {Where.REPLACE: edit.text, Where.BEFORE: edit.text + edit.anchor,
                   Where.AFTER: edit.anchor + edit.text}[edit.where]
    target.write_text(text.replace(edit.anchor, replacement))
    return target
