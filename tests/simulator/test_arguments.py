"""``ganga-monitoring simgrid``'s options, through the real command: a bad value is one usage line and one
error line naming the option and what it accepts, exit code 2, never a traceback and never a started grid."""

from __future__ import annotations

import subprocess
import sys

import pytest

from GangaMonitoring.simulator.server import parse_args


def simgrid(*args: str) -> subprocess.CompletedProcess[str]:
    # --port 0: should a bad value be taken, the grid starts on a free port and the timeout ends the test
    return subprocess.run([sys.executable, "-m", "GangaMonitoring.cli", "simgrid", "--port", "0", *args],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("args, option, accepts", [
    (["--port", "99999"], "--port", "a port number from 0 to 65535"),
    (["--port", "-1"], "--port", "a port number from 0 to 65535"),
    (["--port", "http"], "--port", "a port number from 0 to 65535"),
    (["--run-time", "9", "1"], "--run-time", "give MIN <= MAX"),
    (["--queue-time", "5", "2"], "--queue-time", "give MIN <= MAX"),
    (["--run-time", "-1", "2"], "--run-time", "seconds >= 0"),
    (["--failure-fraction", "1.5"], "--failure-fraction", "a fraction from 0 to 1"),
    (["--error-rate", "2"], "--error-rate", "a fraction from 0 to 1"),
    (["--timeout-rate", "-0.1"], "--timeout-rate", "a fraction from 0 to 1"),
    (["--malformed-rate", "nan"], "--malformed-rate", "a fraction from 0 to 1"),
    (["--error-rate", "0.6", "--timeout-rate", "0.3", "--malformed-rate", "0.2"], "--error-rate",
     "add up to at most 1"),
    (["--latency", "-1"], "--latency", "seconds >= 0"),
    (["--hang-seconds", "inf"], "--hang-seconds", "seconds >= 0"),
    (["--max-batch", "0"], "--max-batch", "a whole number >= 1"),
    (["--max-concurrent", "-2"], "--max-concurrent", "a whole number >= 0"),
    (["--output-files", "-1"], "--output-files", "a whole number >= 0"),
    (["--output-bytes", "1.5"], "--output-bytes", "a whole number >= 0"),
    (["--outage", "-5", "10"], "--outage", "seconds >= 0"),
    (["--outage", "5", "-10"], "--outage", "seconds >= 0"),
    (["--seed", "x"], "--seed", "invalid int value"),
])
def test_a_bad_value_is_one_sentence_and_exit_code_2(args: list[str], option: str, accepts: str) -> None:
    result = simgrid(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "listening" not in result.stdout
    usage, error = result.stderr.strip().splitlines()[0], result.stderr.strip().splitlines()[-1]
    assert usage.startswith("usage: ganga-monitoring simgrid ")
    assert error.startswith("ganga-monitoring simgrid: error: argument") and option in error and accepts in error


def test_the_edges_of_each_range_are_accepted() -> None:
    args = parse_args(["--port", "65535", "--run-time", "3", "3", "--queue-time", "0", "0", "--failure-fraction",
                       "1", "--error-rate", "0.5", "--timeout-rate", "0.25", "--malformed-rate", "0.25",
                       "--latency", "0", "--max-batch", "1", "--max-concurrent", "0", "--output-files", "0",
                       "--outage", "0", "0", "--hang-seconds", "0"])
    assert args.port == 65535 and args.run_time == [3.0, 3.0] and args.failure_fraction == 1.0
    assert args.max_batch == 1 and args.outage == [[0.0, 0.0]]
    assert parse_args(["--port", "0"]).port == 0
