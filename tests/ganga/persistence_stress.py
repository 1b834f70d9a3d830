"""The persistence stress test's driver: seeded sessions of ``persistence_stress_child.py``, one gangadir.

Ganga-free (each session is a child process), so the benchmark runner
(``benchmarks/persistence_stress.py``) and the test share it.  A seed fixes
every session's writes and where it is killed (``SEED * 1000 + session``
seeds the child).
"""

from __future__ import annotations

import glob
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CHILD = Path(__file__).with_name("persistence_stress_child.py")
MAX_KILL_AT = 120
"""Kill points are drawn from the first writes of a session (a session makes a few hundred)."""


@dataclass
class SeedResult:
    seed: int
    mismatches: list[str] = field(default_factory=list)
    stale_entries: int = 0
    """Index entries older than their data file found after a kill (tolerated: Ganga's loader trusts them)."""
    stale_master_indexes: int = 0
    """Masters whose ``<id>.index`` disagreed with their data file at load (stock Ganga writes it only when
    missing or at a clean shutdown; no session here shuts down cleanly)."""
    forbidden_roll_ups: int = 0
    """Masters whose roll-up Ganga's transition graph forbids (``failed`` -> ``killed``: stock)."""
    kills: int = 0
    operations: int = 0


def release_dead_session_locks(gangadir: str) -> None:
    """The killed session's lock files go, so the next session owns the jobs at once (as
    ``test_crash_recovery`` does; Ganga would after its DiskIOTimeout)."""
    for path in glob.glob(os.path.join(gangadir, "repository", "*", "*", "*", "sessions", "*")):
        os.remove(path)


def run_seed(seed: int, sessions: int = 3, timeout: float = 240.0) -> SeedResult:
    """``sessions`` sessions on a new gangadir, each but the last killed at a random write (or not)."""
    rng = random.Random(seed)
    result = SeedResult(seed)
    gangadir = tempfile.mkdtemp(prefix=f"gm-stress-{seed}-")
    try:
        for session in range(sessions):
            kill_at = rng.randint(1, MAX_KILL_AT) if session < sessions - 1 and rng.random() < 0.8 else 0
            run = subprocess.run([sys.executable, str(CHILD), gangadir, str(seed * 1000 + session), str(kill_at)],
                                 capture_output=True, text=True, timeout=timeout)
            out = run.stdout
            where = f"seed {seed} session {session} (kill at write {kill_at or 'none'})"
            result.mismatches += [f"{where}: {line}" for line in re.findall(r"^MISMATCH (.*)$", out, re.M)]
            result.stale_entries += sum(int(n) for n in re.findall(r"^STALE (\d+)$", out, re.M))
            result.stale_master_indexes += len(re.findall(r"^STALE-MASTER-INDEX", out, re.M))
            result.forbidden_roll_ups += len(re.findall(r"^FORBIDDEN-ROLL-UP", out, re.M))
            result.operations += sum(int(n) for n in re.findall(r"^DONE (\d+)$", out, re.M))
            if run.returncode == -signal.SIGKILL:
                result.kills += 1
            elif run.returncode != 0 or "DONE" not in out:
                result.mismatches.append(f"{where}: ended with {run.returncode}:\n{out[-2000:]}\n{run.stderr[-3000:]}")
                break
            release_dead_session_locks(gangadir)
    finally:
        shutil.rmtree(gangadir, ignore_errors=True)
    return result
