"""SIGKILL at any write of a flush of a split job leaves a repository that loads, with every subjob
at least as its last completed flush left it; and what one monitoring writes, the other loads
(issue 17 item 4: the patched flush keeps stock Ganga's crash guarantees).

Each case runs ``flush_kill_child.py``: a session flushes a split job once (every subjob named
``gen1-<i>``), renames them ``gen2-<i>`` and flushes again, SIGKILLing itself just before the
k-th write into the gangadir (an open for writing, a rename, a remove: every point between two
writes, including between the two renames of Ganga's ``safe_save``); a second session, with the
package or without it, then loads the job.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .test_crash_recovery import release_dead_session_locks

pytestmark = pytest.mark.ganga

CHILD = Path(__file__).with_name("flush_kill_child.py")
SUBJOBS = 2
WRITES = 3 * SUBJOBS + 5
"""Writes of the second flush: three per subjob (data.new, two renames), two for the index (its temp file,
renamed over it), three for the master."""


def run_child(*args: str) -> str:
    run = subprocess.run([sys.executable, str(CHILD), *args], capture_output=True, text=True, timeout=180)
    if run.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"{args[0]} ended with {run.returncode}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return run.stdout


def write_then_read(gangadir: str, writer: str, reader: str, kill_at: int | None) -> tuple[list[str], dict[int, str]]:
    """The writes the writer made before it ended, and each subjob's name as the reader loads it."""
    out = run_child("write", gangadir, writer, str(SUBJOBS), *([str(kill_at)] if kill_at else []))
    assert "FLUSHED 1" in out, out[-3000:]
    writes = re.findall(r"^WRITE \d+ (\S+ \S+)$", out, re.M)
    release_dead_session_locks(gangadir)
    read = run_child("read", gangadir, reader)
    assert re.search(rf"^JOB \w+ {SUBJOBS}$", read, re.M), read[-3000:]
    assert f"MONITORING {'MonitoringComponent' if reader == 'ours' else 'AsyncMonitoringService'}" in read
    names = {int(i): name for i, name in re.findall(r"^SUBJOB (\d+) \w+ (\S+)$", read, re.M)}
    return writes, names


def saved_subjobs(writes: list[str]) -> set[int]:
    """Subjobs whose second save ended (its data.new renamed to data) among ``writes``."""
    return {int(m.group(1)) for w in writes if (m := re.search(r"os\.rename .*/0/(\d+)/data\.new$", w))}


def test_the_second_flush_writes_subjobs_then_index_then_master(gangadir: str) -> None:
    writes, names = write_then_read(gangadir, "ours", "ours", None)
    kinds = [re.sub(r"\.\d+-\d+\.tmp$", ".tmp", w.split()[1].split("/0xxx/0/")[-1]) for w in writes]
    assert kinds == [*(p for i in range(SUBJOBS) for p in (f"{i}/data.new", f"{i}/data", f"{i}/data.new")),
                     "subjobs.idx.tmp", "subjobs.idx.tmp", "data.new", "data", "data.new"], writes
    assert [w.split()[0] for w in writes][3 * SUBJOBS:3 * SUBJOBS + 2] == ["open-w", "os.rename"], writes
    assert names == {i: f"gen2-{i}" for i in range(SUBJOBS)}


@pytest.mark.parametrize("writer, reader, kill_at", [
    *(("ours", "stock" if k % 2 else "ours", k) for k in range(1, WRITES + 1)),
    *(("stock", "ours", k) for k in (3, 3 * SUBJOBS + 1, 3 * SUBJOBS + 3)),
])
def test_a_flush_killed_at_any_write_leaves_a_repository_that_loads(gangadir: str, writer: str, reader: str,
                                                                    kill_at: int) -> None:
    writes, names = write_then_read(gangadir, writer, reader, kill_at)
    assert len(writes) == kill_at - 1  # killed just before write number kill_at
    assert set(names) == set(range(SUBJOBS))
    for i, name in names.items():
        assert name in (f"gen1-{i}", f"gen2-{i}"), (i, name, writes)
    for i in saved_subjobs(writes):
        assert names[i] == f"gen2-{i}", (i, writes)
