"""Item 10: an unnamed Ganga logger is found once per calling file, not at every call.

What: ``GangaCore.Utility.logging.getLogger()`` called without a name returns
the logger it found for the calling file (and ``modulename``) before.

Why: Ganga names such a logger after the caller's file: ``os.path.realpath``
of it and of every ``sys.path`` entry, a dozen ``lstat`` calls, each one a GIL
release and re-acquisition, and Ganga's cache of the result is skipped for
exactly this call (``modulename`` unset).  Ganga makes this call in
``CompositeMonitoringService.__init__``, built anew for every status change
of every job: under monitoring load each paid the GIL re-acquisitions behind
busy threads, ~7 ms a status change in a 3,000-subjob burst.

Contract: the name, and so the logger, depends only on the caller's file and
``modulename``; calls with a name are unchanged.  The wrapper stands where
``getLogger`` stood, so Ganga's name guesser still finds the caller three
frames up.  :func:`cached_logger_names` installs it when the component
starts.

Undone by: remove() restores Ganga's ``getLogger`` (the ledger); the loggers
found stay in the wrapper, which goes with it.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

from .ledger import _lock, _wrap


def cached_logger_names() -> None:
    """Install item 10 (idempotent; undone by remove)."""
    import GangaCore.Utility.logging as ganga_logging

    with _lock:
        _wrap(ganga_logging, "getLogger", functools.partial(_caching_unnamed_loggers, ganga_logging))


def _caching_unnamed_loggers(ganga_logging: Any, original: Any) -> Any:
    found: dict[tuple[str, Any], Any] = {}

    @functools.wraps(original)
    def getLogger(name: Any = None, modulename: Any = None) -> Any:  # noqa: N802 - Ganga's name
        # Ganga finds the caller three frames up from its name guesser (guesser, _getLogger,
        # getLogger, caller): this function stands where getLogger stood, so calling
        # _getLogger from here keeps that depth.
        if name is None:
            caller_file = sys._getframe(1).f_globals.get("__file__")
            if isinstance(caller_file, str):
                key = (caller_file, modulename)
                logger = found.get(key)
                if logger is None:
                    logger = found[key] = ganga_logging._getLogger(name, modulename)
                return logger
        return ganga_logging._getLogger(name, modulename)

    getLogger.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return getLogger
