"""Imported by the workers' fork server only (``pools.WORKER_PRELOAD``), never by a Ganga session.

multiprocessing sends every new worker its parent's main script (a path, or a
module name for ``python -m``), and the worker runs it before any work
(``spawn.prepare``).  Ganga's ``ganga`` script has no ``if __name__ ==
"__main__"`` guard: a worker would start a second Ganga.  Workers run only
top-level functions of Ganga-free modules and need nothing of the parent's
main script, so in the fork server, whose forks are the workers, running it is
a no-op.  Nothing changes in the parent's process.
"""

from __future__ import annotations

import multiprocessing.spawn
from typing import Any


def _main_script_not_run(*_args: Any) -> None:
    return None


multiprocessing.spawn._fixup_main_from_path = _main_script_not_run  # type: ignore[attr-defined]
multiprocessing.spawn._fixup_main_from_name = _main_script_not_run  # type: ignore[attr-defined]
