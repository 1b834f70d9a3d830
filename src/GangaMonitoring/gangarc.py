"""Adding (or removing) GangaMonitoring to ``[Configuration]RUNTIME_PATH`` of an ini file.

Contract of :func:`with_runtime` (the pure edit) and :func:`update_file`:

- every line other than the ``RUNTIME_PATH`` option of the first
  ``[Configuration]`` section is kept byte for byte (comments, blank
  lines, line endings, other sections), which configparser would not;
- the option's value is read as Ganga reads it: a ``key = value`` or
  ``key: value`` line plus its indented continuation lines, entries split
  on ``:``, a leading ``:::`` (Ganga's "replace, do not append") kept;
- the edit is idempotent: enabling an enabled file, or disabling a
  disabled one, returns the text unchanged; disabling the last entry
  removes the option's lines, so enable-then-disable gives the file back;
- a file Ganga's own parser cannot read is refused, never made worse, and
  a result it could not read is never written (:class:`GangarcError`);
- :func:`update_file` writes atomically (a temp file in the same
  directory, then a rename) and keeps the previous file as ``<name>~``.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
from dataclasses import dataclass

from ._files import replace_atomically

PACKAGE = "GangaMonitoring"
HEADER = "# Ganga configuration file ($Name: 8.7.12 $)\n"
SECTION = "Configuration"
OPTION = "RUNTIME_PATH"
RESET = ":::"
BACKUP_SUFFIX = "~"

_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]\s*$")
_OPTION = re.compile(rf"^(?P<lead>{OPTION}[ \t]*[=:][ \t]*)(?P<value>.*?)[ \t]*$")


class GangarcError(Exception):
    """The file cannot be edited safely; the message says why, in one sentence."""


@dataclass(frozen=True)
class _Found:
    """Where the option is: its first line, one past its last line, and its value."""

    first: int
    end: int
    lead: str
    value: str


def _body(line: str) -> tuple[str, str]:
    """A line split into its text and its line ending."""
    stripped = line.rstrip("\r\n")
    return stripped, line[len(stripped):]


def _find(lines: list[str]) -> tuple[int | None, _Found | None]:
    """The first [Configuration] header's line number, and the RUNTIME_PATH option in it."""
    section: str | None = None
    header_at: int | None = None
    for number, line in enumerate(lines):
        text, _ = _body(line)
        header = _SECTION.match(text)
        if header:
            if section == SECTION and header_at is not None:
                break  # the first [Configuration] ended without the option
            section = header.group("name").strip()
            if section == SECTION and header_at is None:
                header_at = number
            continue
        if section != SECTION or header_at is None:
            continue
        match = _OPTION.match(text)
        if match:
            end = number + 1
            parts = [match.group("value")]
            while end < len(lines):  # configparser's continuation lines: indented, not blank
                following, _ = _body(lines[end])
                if following.strip() and following[:1] in (" ", "\t"):
                    parts.append(following.strip())
                    end += 1
                    continue
                if not following.strip() and _indented_after(lines, end):
                    end += 1  # a blank line inside the value (configparser keeps those)
                    continue
                break
            return header_at, _Found(number, end, match.group("lead"), "\n".join(parts))
    return header_at, None


def _indented_after(lines: list[str], blank: int) -> bool:
    for line in lines[blank + 1:]:
        text, _ = _body(line)
        if text.strip():
            return text[:1] in (" ", "\t")
    return False


def entries(value: str) -> tuple[bool, list[str]]:
    """(whether the value starts with ``:::``, its non-empty entries in order)."""
    value = value.strip()
    reset = value.startswith(RESET)
    if reset:
        value = value[len(RESET):]
    return reset, [e.strip() for e in re.split(r"[:\n]", value) if e.strip()]


def is_ours(entry: str) -> bool:
    """``GangaMonitoring``, or a path to it (``/opt/x/GangaMonitoring``)."""
    return os.path.basename(entry.rstrip("/")) == PACKAGE


def with_runtime(text: str, enable: bool = True) -> str:
    """Return ``text`` with GangaMonitoring added to (or removed from) RUNTIME_PATH (see the module)."""
    _check_readable(text, "it")
    lines = text.splitlines(keepends=True)
    header_at, found = _find(lines)
    if found is not None:
        reset, current = entries(found.value)
        if any(map(is_ours, current)) == enable:
            return text  # already as asked: not one byte changes
        kept = [e for e in current if not is_ours(e)] + ([PACKAGE] if enable else [])
        _, ending = _body(lines[found.end - 1])
        replacement = ([f"{found.lead}{RESET if reset else ''}{':'.join(kept)}{ending or ''}"]
                       if kept or reset else [])
        if replacement and not ending and found.end < len(lines):
            replacement[0] += "\n"
        new = "".join(lines[:found.first] + replacement + lines[found.end:])
    elif not enable:
        return text
    elif header_at is None:
        newline = "\r\n" if "\r\n" in text else "\n"
        prefix = "" if not text or text.endswith("\n") else newline
        new = f"{text}{prefix}[{SECTION}]{newline}{OPTION} = {PACKAGE}{newline}"
    else:
        _, ending = _body(lines[header_at])
        lines[header_at] = lines[header_at] if ending else lines[header_at] + "\n"
        new = "".join(lines[:header_at + 1] + [f"{OPTION} = {PACKAGE}{ending or chr(10)}"] + lines[header_at + 1:])
    _check_readable(new, "the edited file")
    return new


def runtime_path(text: str) -> list[str] | None:
    """RUNTIME_PATH's entries as Ganga's parser reads ``text`` (None: no such option)."""
    parser = _parser()
    parser.read_string(text)
    if not parser.has_option(SECTION, OPTION):
        return None
    return entries(parser.get(SECTION, OPTION, raw=True))[1]


def _parser() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()  # what Ganga's make_config_parser builds
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    return parser


def _check_readable(text: str, what: str) -> None:
    try:
        _parser().read_string(text)
    except configparser.Error as err:
        first = str(err).splitlines()[0]
        raise GangarcError(f"Ganga cannot read {what} ({first}); it was not changed: fix it by hand") from err


def update_file(path: str, enable: bool = True) -> bool:
    """Edit ``path`` in place (creating it when enabling); True if it changed.

    Raises :class:`GangarcError` with a one-line reason when the file or its
    directory cannot be read or written, or Ganga could not read the file.
    """
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            old: str | None = handle.read()
    except FileNotFoundError:
        old = None
    except OSError as err:
        raise GangarcError(f"cannot read {path}: {err.strerror}") from err
    if old is None and not enable:
        return False
    try:
        new = with_runtime(old if old is not None else HEADER, enable)
    except GangarcError as err:
        raise GangarcError(f"{path}: {err}") from err
    if new == old:
        return False
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise GangarcError(f"cannot write {path}: the directory {directory} does not exist")
    _write_atomically(path, new, backup=old is not None)
    return True


def _write_atomically(path: str, text: str, backup: bool) -> None:
    try:
        if backup:
            shutil.copy2(path, path + BACKUP_SUFFIX)
        replace_atomically(path, lambda out: out.write(text), durable=True, mode_from=path if backup else None)
    except OSError as err:
        raise GangarcError(f"cannot write {path}: {err.strerror or err}") from err


def site_ini() -> str:
    """An ini that enables GangaMonitoring for every user of an installation."""
    return (f"{HEADER}# Enables GangaMonitoring for all users: list this file in GANGA_CONFIG_PATH\n"
            f"[{SECTION}]\n{OPTION} = {PACKAGE}\n")
