"""A user's ``.gangarc`` with mistakes, read by the real ``ganga`` program: every mistake is named once at
start in one sentence, with the value used instead; ``config`` shows what is used; Ganga always starts,
also on the first run of a Ganga version (whose wizard reads the file again)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.ganga

GANGARC = """# Ganga configuration file ($Name: 8.7.12 $)
[Configuration]
RUNTIME_PATH = GangaMonitoring
gangadir = {gangadir}
[Monitoring]
poll_workers = -3
io_workers = lots
failing_job_grace = 0
polling_workers = 4
backend_concurrency = {{'Local': 'x'}}
[PollThread]
SimGrid = 0
"""

SCRIPT = """
m = config.Monitoring
print("VALUES", m.poll_workers, m.io_workers, m.failing_job_grace, m.backend_concurrency)
from GangaMonitoring import config as ours
print("INTERVAL", ours.poll_interval("SimGrid"))
"""

SENTENCES = [
    "[Monitoring]poll_workers must be an integer of at least 1, not -3: the default, 12, is used",
    "[Monitoring]io_workers must be an integer of at least 1, not 'lots': the default, 8, is used",
    "[Monitoring] has no option 'polling_workers' (did you mean poll_workers?): 'polling_workers = 4' is ignored",
    "[Monitoring]backend_concurrency must be a dict of backend names to integers, such as {'Dirac': 4}, "
    "not {'Local': 'x'}: the default, {}, is used",
    "[Monitoring]failing_job_grace must be a number of seconds above 0, not 0.0: the default, 600.0, is used",
    "[PollThread]SimGrid must be a number of seconds of at least 0.1, not 0: the default, 5.0, is used",
]


def run_ganga(home: Path, first_run_of_this_version: bool) -> str:
    (home / ".gangarc").write_text(GANGARC.format(gangadir=home / "gangadir"))
    (home / ".cache" / "Ganga").mkdir(parents=True)
    if not first_run_of_this_version:
        (home / ".cache" / "Ganga" / ".used_versions").write_text("8.7.12\n")
    (home / "script.py").write_text(SCRIPT)
    ganga = Path(sys.executable).with_name("ganga")
    # the wizard of a first run asks, for each changed option, whether to keep it: the answers are yes
    run = subprocess.run([str(ganga), str(home / "script.py")], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HOME": str(home)}, input="y\n" * 50, cwd=home)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    return output


@pytest.mark.parametrize("first_run", [False, True], ids=["a-start", "first-run-of-a-version"])
def test_each_mistake_is_named_once_at_start_and_the_value_used_shown(tmp_path: Path, first_run: bool) -> None:
    output = run_ganga(tmp_path, first_run)
    assert "ConfigError" not in output and "Traceback" not in output, output[-4000:]
    for sentence in SENTENCES:
        assert output.count(sentence) == 1, (sentence, output[-4000:])
    assert "VALUES 12 8 600.0 {}" in output, output[-4000:]
    assert "INTERVAL 5.0" in output
