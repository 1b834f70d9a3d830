"""Adding (or removing) GangaMonitoring to ``[Configuration]RUNTIME_PATH`` of an ini file.

The edit keeps every other line of the user's ``.gangarc`` as it was
(comments included), which configparser would not.
"""

from __future__ import annotations

import os
import re

PACKAGE = "GangaMonitoring"
HEADER = "# Ganga configuration file ($Name: 8.7.12 $)\n"

_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]\s*$")
_RUNTIME = re.compile(r"^(?P<lead>\s*RUNTIME_PATH\s*[=:]\s*)(?P<value>.*?)\s*$")


def _entries(value: str) -> list[str]:
    return [e for e in value.split(":") if e.strip()]


def with_runtime(text: str, enable: bool = True) -> str:
    """Return ``text`` with GangaMonitoring added to (or removed from) RUNTIME_PATH."""
    lines = text.splitlines(keepends=True)
    section = None
    config_at = None
    for number, line in enumerate(lines):
        header = _SECTION.match(line)
        if header:
            section = header.group("name").strip()
            if section == "Configuration" and config_at is None:
                config_at = number
            continue
        match = _RUNTIME.match(line)
        if section == "Configuration" and match and not line.lstrip().startswith(("#", ";")):
            entries = [e for e in _entries(match.group("value")) if os.path.basename(e.strip()) != PACKAGE]
            if enable:
                entries.append(PACKAGE)
            lines[number] = f"{match.group('lead')}{':'.join(entries)}\n"
            return "".join(lines)
    if not enable:
        return text
    if config_at is None:
        prefix = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{prefix}[Configuration]\nRUNTIME_PATH = {PACKAGE}\n"
    lines.insert(config_at + 1, f"RUNTIME_PATH = {PACKAGE}\n")
    return "".join(lines)


def update_file(path: str, enable: bool = True) -> bool:
    """Edit ``path`` in place (creating it when enabling); True if it changed."""
    old = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            old = handle.read()
    elif not enable:
        return False
    new = with_runtime(old or HEADER, enable)
    if new == old:
        return False
    tmp = f"{path}.gangamon-tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(new)
    os.replace(tmp, path)
    return True


def site_ini() -> str:
    """An ini that enables GangaMonitoring for every user of an installation."""
    return (f"{HEADER}# Enables GangaMonitoring for all users: list this file in GANGA_CONFIG_PATH\n"
            f"[Configuration]\nRUNTIME_PATH = {PACKAGE}\n")
