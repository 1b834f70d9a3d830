"""A Ganga session that flushes a split job and SIGKILLs itself at a chosen write, for test_flush_kill.

Usage:

    flush_kill_child.py write GANGADIR ours|stock SUBJOBS [KILL_AT]
        With GangaMonitoring active (ours) or not (stock): submit job 0 (SUBJOBS subjobs on
        TestSubmitter, monitoring off, so nothing else writes), name every
        subjob ``gen1-<i>`` and flush (prints ``FLUSHED 1``), then name them
        ``gen2-<i>`` and flush again while an audit hook numbers every write
        inside GANGADIR (opens for writing, renames, removes): printed as
        ``WRITE <n> <event> <path>``.  With KILL_AT the process SIGKILLs
        itself just before write number KILL_AT; without, it prints
        ``FLUSHED 2`` and ends.  Either way Ganga never stops (no stop-time
        flush repairs anything).
    flush_kill_child.py read GANGADIR ours|stock
        Start Ganga on GANGADIR (with or without GangaMonitoring) and print
        ``JOB <status> <subjobs>``, then ``SUBJOB <i> <status> <name>`` for each.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.ganga.conftest import ganga_options  # noqa: E402 - the same options as in-process sessions

from GangaCore.testlib.GangaUnitTest import start_ganga  # noqa: E402

NO_AUTO_FLUSH = [("Registry", "AutoFlusherWaitTime", 3600), ("TestingFramework", "AutoCleanup", False)]


def flush(job: Any) -> None:
    """As Ganga's flusher does (``flush_all``); with the package, letting the lock go before every subjob."""
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    if "GangaMonitoring.patches" in sys.modules:
        sys.modules["GangaMonitoring.patches"].HELD_LOCK.budget = 0.0
    stripProxy(job)._getRegistry().flush_all()


def _path_and_kind(event: str, args: tuple[Any, ...]) -> tuple[str, str] | None:
    """The path a mutating file-system event changes, or None for any other event."""
    if event == "open":
        path, mode, flags = args
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else \
            bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
        return (str(path), "open-w") if writes and isinstance(path, (str, bytes, os.PathLike)) else None
    if event in ("os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.truncate", "shutil.copyfile"):
        return str(args[0]), event
    return None


def options(monitoring: str) -> list[tuple[str, str, Any]]:
    found = ganga_options(NO_AUTO_FLUSH)
    if monitoring == "stock":
        found = [o for o in found if o[:2] != ("Configuration", "RUNTIME_PATH")]
        found.append(("Configuration", "RUNTIME_PATH", "GangaTest"))
    return found


def numbering_writes(gangadir: str, kill_at: int | None) -> Any:
    """An audit hook that prints each write inside ``gangadir``, and SIGKILLs before write ``kill_at``."""
    count = 0
    root = os.path.realpath(gangadir)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        nonlocal count
        found = _path_and_kind(event, args)
        if found is None or not os.path.realpath(found[0]).startswith(root):
            return
        count += 1
        if count == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        # flushed at once: the SIGKILL before a later write loses what a pipe's buffer holds (unless the
        # environment happens to set PYTHONUNBUFFERED)
        sys.stdout.write(f"WRITE {count} {found[1]} {os.path.relpath(found[0], gangadir)}\n")
        sys.stdout.flush()

    return hook


def write(gangadir: str, monitoring: str, subjobs: int, kill_at: int | None) -> None:
    start_ganga(gangadir, extra_opts=options(monitoring))
    from GangaCore import GPI
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    job = GPI.Job(backend=GPI.TestSubmitter(time=0), splitter=GPI.ArgSplitter(args=[[str(i)] for i in range(subjobs)]))
    job.submit()
    for generation in (1, 2):
        for subjob in job.subjobs:
            stripProxy(subjob).name = f"gen{generation}-{subjob.id}"  # read-only at the GPI once submitted
        if generation == 2:
            sys.addaudithook(numbering_writes(gangadir, kill_at))
        flush(job)
        sys.stdout.write(f"FLUSHED {generation}\n")
        sys.stdout.flush()
    sys.stdout.flush()
    os._exit(0)


def read(gangadir: str, monitoring: str) -> None:
    start_ganga(gangadir, extra_opts=options(monitoring))
    from GangaCore import GPI
    from GangaCore.Core import monitoring_component

    lines = [f"MONITORING {type(monitoring_component).__name__}"]
    job = GPI.jobs(0)
    lines.append(f"JOB {job.status} {len(job.subjobs)}")
    lines.extend(f"SUBJOB {subjob.id} {subjob.status} {subjob.name}" for subjob in job.subjobs)
    sys.stdout.write("\n".join(lines) + "\nREAD\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else None)
    else:
        read(sys.argv[2], sys.argv[3])
