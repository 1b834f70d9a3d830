"""The answer of a DIRAC call, handed back through a file instead of GangaDirac's shared dict.

GangaDirac's DIRAC executor process runs each task in a thread and writes
its answer into an ``UltraDict``.  That dict's lock excludes other
*processes* only: a second thread of the holder's process is let straight
in (the lock counts re-entries per pid).  Two answers written at once by the
executor's threads, or an update read at once by two of Ganga's threads,
can lose an answer, and its caller then waits for the whole call timeout
(measured: 1 of 400 concurrent calls from 8 threads).

So the task put on the executor's queue is :func:`answer_to_file` wrapped
around GangaDirac's command: it runs in the executor process, writes the
command's answer to a file of its own, atomically (a rename), and returns
None, which is all that goes into the shared dict.  A file per answer has no
writer but one and no reader but one.

This module imports nothing of Ganga: the executor process unpickles the
task and imports it there.
"""

from __future__ import annotations

import os
import pickle
from typing import Any
from collections.abc import Callable


def answer_to_file(command: Callable[..., Any], path: str, **args: Any) -> None:
    """Run ``command(**args)`` and leave its answer, pickled, at ``path``.

    A command that raises, or an answer that cannot be pickled, leaves a
    DIRAC-style error dict instead, so that the caller always gets an answer.
    """
    try:
        answer = command(**args)
    except Exception as err:  # noqa: BLE001 - GangaDirac's commands catch theirs; this is the last net
        answer = error_answer(command, err)
    try:
        data = pickle.dumps(answer)
    except Exception as err:  # noqa: BLE001
        data = pickle.dumps(error_answer(command, err))
    part = f"{path}.part"
    with open(part, "wb") as handle:
        handle.write(data)
    os.replace(part, path)


def error_answer(command: Callable[..., Any], err: BaseException) -> dict[str, Any]:
    name = getattr(command, "__name__", repr(command))
    return {"OK": False, "Message": f"{name} failed in the DIRAC process: {type(err).__name__}: {err}"}


def read_answer(path: str) -> Any:
    """The answer left at ``path`` (the file is removed)."""
    with open(path, "rb") as handle:
        answer = pickle.load(handle)
    os.remove(path)
    return answer
