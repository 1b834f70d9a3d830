"""Which errors are this package's own bugs, not a backend's or a job's trouble.

Monitoring code calls backends, and most errors that escape a call are theirs
(a corrupt status file, a service that forgot a job): the job is retried, and
after a grace marked failed.  A programming error raised in this package's own
code (a ``TypeError`` from a wrong call, an ``AttributeError`` from a renamed
field) is none of that: retrying it, halving the batch to find "the bad job",
or counting it against each job until the jobs are marked failed would turn a
bug of ours into failed jobs of the user's.  :func:`is_own_bug` tells them
apart by where the error was raised: the innermost frame of its traceback in
this package, outside ``GangaMonitoring/backends`` (the SimGrid backend is a
backend like any other).  :func:`own_bug` also logs it, once per place.
"""

from __future__ import annotations

import logging
import os
import threading

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""The ``GangaMonitoring`` directory."""
BACKENDS = os.path.join(PACKAGE, "backends")

PROGRAMMING_ERRORS: tuple[type[BaseException], ...] = (TypeError, AttributeError, NameError, AssertionError)
"""The error types that say the code is wrong (an error the code raises on purpose is not one of them)."""

log = logging.getLogger("GangaMonitoring.bugs")
_said: set[tuple[str, str, int]] = set()
_said_lock = threading.Lock()


def raised_at(error: BaseException) -> tuple[str, int] | None:
    """The file and line of the innermost Python frame of ``error``'s traceback (None: it has none)."""
    tb = error.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename, tb.tb_lineno


def is_own_bug(error: BaseException) -> bool:
    """Is ``error`` a programming error raised in this package's own code (not in a backend's)?"""
    if not isinstance(error, PROGRAMMING_ERRORS):
        return False
    where = raised_at(error)
    if where is None:
        return False
    path = os.path.abspath(where[0])
    return path.startswith(PACKAGE + os.sep) and not path.startswith(BACKENDS + os.sep)


def own_bug(error: BaseException) -> bool:
    """:func:`is_own_bug`, and when it is, logged with its traceback (once per type and place)."""
    if not is_own_bug(error):
        return False
    where = raised_at(error) or ("?", 0)
    key = (type(error).__name__, *where)
    with _said_lock:
        first = key not in _said
        _said.add(key)
    if first:
        log.error("a bug in GangaMonitoring, not the backend's nor the job's (the jobs are left as they are; "
                  "please report it): %s: %s", type(error).__name__, error, exc_info=error)
    return True
