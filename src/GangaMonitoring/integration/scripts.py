"""Monitoring in ``ganga script.py``: on, as at the prompt, unless the user turned it off.

Ganga enables its monitoring only in an interactive session
(``GangaCore.Core.bootstrap`` overrides ``[PollThread]autostart``'s default
with the session's interactivity), so a job submitted by a script stays
``submitted`` however long the script waits for it (Ganga #2403), unless
the script calls ``enableMonitoring()``.  With this package active, a
session that runs a script non-interactively enables monitoring after the
bootstrap, unless ``[PollThread]autostart`` was given a value (in a config
file, with ``-o``, by ``--no-mon``, or by Ganga itself when it found another
session on the gangadir): an explicit value is the user's, and is kept.
"""

from __future__ import annotations

from typing import Any

from GangaCore.Utility.logging import getLogger

log = getLogger("GangaMonitoring")


def runs_a_script(program: Any) -> bool:
    """Is ``program`` (Ganga's ``GangaProgram``) running a script, not entering the prompt after it?"""
    return bool(getattr(program, "args", None)) and not getattr(program, "interactive", True)


def autostart_set_explicitly() -> bool:
    """Has ``[PollThread]autostart`` a value other than its default (a file's, a session's, Ganga's own)?"""
    from GangaCore.Utility.Config import getConfig

    option = getConfig("PollThread").options["autostart"]
    return any(hasattr(option, level) for level in ("user_value", "session_value", "gangarc_value"))


def enable_for_script(component: Any) -> bool:
    """Enable ``component`` if this session runs a script and autostart was left to its default.  True: enabled."""
    import GangaCore.Runtime

    program = getattr(GangaCore.Runtime, "_prog", None)
    if component.enabled or program is None or not runs_a_script(program) or autostart_set_explicitly():
        return False
    enabled = bool(component.enable())
    if enabled:
        log.info("GangaMonitoring: monitoring is on for this script ([PollThread]autostart=False or --no-mon "
                 "turns it off)")
    return enabled
