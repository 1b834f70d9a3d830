"""``ganga-monitoring demo``'s options, through the real command: a bad value is one usage line and one error
line naming the option and what it accepts, exit code 2, before any grid or Ganga starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # should a bad value be taken, the demo starts a grid and Ganga in tmp_path, and the timeout ends the test
    return subprocess.run([sys.executable, "-m", "GangaMonitoring.cli", "demo", "--timeout", "20", *args],
                          capture_output=True, text=True, timeout=90, cwd=tmp_path,
                          env={**os.environ, "HOME": str(tmp_path)})


@pytest.mark.parametrize("args, option, accepts", [
    (["--jobs", "0"], "--jobs", "a whole number >= 1"),
    (["--jobs", "many"], "--jobs", "a whole number >= 1"),
    (["--per-master", "-1"], "--per-master", "a whole number >= 0"),
    (["--queue-time", "10", "1"], "--queue-time", "give MIN <= MAX"),
    (["--run-time", "30", "5"], "--run-time", "give MIN <= MAX"),
    (["--run-time", "-5", "5"], "--run-time", "seconds >= 0"),
    (["--failure-fraction", "1.5"], "--failure-fraction", "a fraction from 0 to 1"),
    (["--latency", "-1"], "--latency", "seconds >= 0"),
    (["--poll-interval", "0"], "--poll-interval", "seconds > 0"),
    (["--timeout", "-3"], "--timeout", "seconds > 0"),
    (["--error-rate", "2"], "--error-rate", "a fraction from 0 to 1"),
    (["--timeout-rate", "0.7", "--error-rate", "0.7"], "--timeout-rate", "add up to at most 1"),
    (["--malformed-rate", "-0.5"], "--malformed-rate", "a fraction from 0 to 1"),
    (["--hang-seconds", "0"], "--hang-seconds", "seconds > 0"),
    (["--outage", "-1", "5"], "--outage", "seconds >= 0"),
    (["--max-concurrent", "-1"], "--max-concurrent", "a whole number >= 0"),
    (["--io-limit", "-8"], "--io-limit", "a whole number >= 0"),
    (["--stall-report-after", "-1"], "--stall-report-after", "seconds >= 0"),
    (["--set", "poll_workers=16"], "--set", "SECTION.OPTION=VALUE"),
])
def test_a_bad_value_is_one_sentence_and_exit_code_2(tmp_path: Path, args: list[str], option: str,
                                                     accepts: str) -> None:
    result = demo(tmp_path, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "grid simulator running" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("usage: ganga-monitoring demo ")
    assert lines[-1].startswith("ganga-monitoring demo: error: argument") and option in lines[-1]
    assert accepts in lines[-1]
