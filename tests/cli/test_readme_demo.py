"""The README's first command, as a newcomer types it: ``./dev.sh demo`` in a fresh copy of the
checkout, with a fresh HOME and no virtual environment from before.

The copy holds what a clone of this tree would hold (the files git tracks, and the ones it would
track, as they are in the work tree), so ``dev.sh`` makes its own ``.venv`` and installs the package
with its runtime dependencies only: nothing of the test extras (pytest above all) is there, as on a
user's machine.  pip fetches from the package index, as it does for a user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def checkout_files() -> list[str]:
    """The files a clone of the work tree would have (tracked, and untracked but not ignored)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("the checkout is not a git work tree: which files a clone holds is not known")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def newcomer_env(home: Path) -> dict[str, str]:
    """This environment as a newcomer's shell would have it: a new HOME, no virtual environment."""
    venv_bin = os.path.dirname(sys.executable)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    drop = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VENV", "COV_CORE_SOURCE",
            "COV_CORE_CONFIG", "COV_CORE_DATAFILE"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "HOME": str(home), "PATH": path}


def test_dev_sh_demo_works_on_a_fresh_copy_with_a_fresh_venv(tmp_path: Path) -> None:
    copy, home = tmp_path / "GangaMonitoring", tmp_path / "home"
    home.mkdir()
    for name in checkout_files():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    assert not (copy / ".venv").exists()
    env = newcomer_env(home)
    run = subprocess.run(["./dev.sh", "demo", "--jobs", "20", "--queue-time", "0", "1", "--run-time", "1", "2",
                          "--failure-fraction", "0.1", "--poll-interval", "1", "--timeout", "180"],
                         cwd=copy, env=env, capture_output=True, text=True, timeout=1500, stdin=subprocess.DEVNULL)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    assert "20/20 subjobs final" in run.stdout, output[-3000:]
    assert "lag from grid finish to Ganga final state" in run.stdout
    # a program's output, not a test harness's, and a summary, not a data dump
    for chatter in ("Passing to Unittest", "Mimicking ganga exit", "Test Finished", "Traceback"):
        assert chatter not in output, output[-3000:]
    assert not any(line.startswith(("{", '  "')) for line in run.stdout.splitlines()), run.stdout[-3000:]
    assert len(run.stdout.splitlines()) < 60, run.stdout
    # the environment was a user's: the test extras were never installed
    probe = subprocess.run([str(copy / ".venv" / "bin" / "python"), "-c", "import pytest"],
                           env=env, capture_output=True, text=True)
    assert probe.returncode != 0, "pytest is installed in the demo's venv: this did not test a newcomer's setup"
    # and the user's Ganga files were never touched
    assert [name for name in ("gangadir", ".gangarc", ".ganga.log") if (home / name).exists()] == []
