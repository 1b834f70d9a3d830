"""``queues.wait``: a script waits for its jobs, in an in-process Ganga and through the real ``ganga`` program."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import GangaMonitoring
from GangaMonitoring.views.queues import UsageError, WaitError

pytestmark = pytest.mark.ganga


class Terminal(io.StringIO):
    """A stream that says it is a terminal; ``on_write`` runs at its first write."""

    def __init__(self, on_write: Any = None) -> None:
        super().__init__()
        self._on_write = on_write

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._on_write is not None:
            on_write, self._on_write = self._on_write, None
            on_write()
        return super().write(text)


def test_wait_returns_what_ended_how_with_a_line_per_change(ganga_session: Any) -> None:
    gpi = ganga_session
    plain = gpi.Job(backend=gpi.RecordingSubmitter(time=1))
    split = gpi.Job(backend=gpi.RecordingSubmitter(time=1), splitter=gpi.ArgSplitter(args=[["1"], ["2"], ["3"]]))
    plain.submit()
    split.submit()
    log = io.StringIO()
    result = gpi.queues.wait([plain, split], stream=log)
    assert result, result.summary()
    assert result.reached == {"0": "completed", "1": "completed"}
    assert not result.waiting and not result.ended and not result.timed_out and not result.interrupted
    text = log.getvalue()
    assert "\r" not in text  # not a terminal: an opening line, then plain lines, one per change
    opening = re.match(r"queues\.wait: waiting for 2 job\(s\) to be final, [0-2] already: 0 (\w+), 1 (\w+)\n", text)
    assert opening, text
    # each job's end is said once: as a change, or in the opening line if it ended before the wait began
    for fqid, at_start in zip(("0", "1"), opening.groups(), strict=True):
        assert (at_start == "completed") != (f"queues.wait: job {fqid} completed" in text), text
    assert "queues.wait: 3/3 subjobs final" in text, text
    assert result.summary().startswith("2 job(s) after")
    # a slice, ids and "id.sub" name the same jobs; final already: at once
    again = gpi.queues.wait(gpi.jobs, stream=io.StringIO())
    assert again.reached == {"0": "completed", "1": "completed"}
    assert gpi.queues.wait([0, "1.2"], stream=io.StringIO()).reached == {"0": "completed", "1.2": "completed"}


def test_wait_until_a_state_and_a_timeout_that_says_which_jobs_are_still_on_their_way(ganga_session: Any) -> None:
    gpi = ganga_session
    job = gpi.Job(backend=gpi.RecordingSubmitter(time=3600))
    job.submit()
    running = gpi.queues.wait(job, until="running", stream=io.StringIO())
    assert running and running.reached == {"0": "running"}, running.summary()
    result = gpi.queues.wait(job, timeout=0.5, stream=io.StringIO())
    assert not result and result.timed_out and not result.interrupted
    assert result.waiting == {"0": "running"} and not result.reached
    assert "timed out after" in result.summary() and "0 running" in result.summary()
    job.kill()
    # a job that ended otherwise will not get there: the wait does not wait for it
    ended = gpi.queues.wait(job, until="completed", stream=io.StringIO())
    assert not ended and ended.ended == {"0": "killed"} and not ended.timed_out


def test_ctrl_c_ends_the_wait_cleanly_and_a_terminal_gets_a_bar(ganga_session: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    gpi = ganga_session
    monkeypatch.setenv("TERM", "xterm")  # whatever the terminal running the tests
    job = gpi.Job(backend=gpi.RecordingSubmitter(time=3600))
    job.submit()
    # a real SIGINT to this (the main) thread, sent at the bar's first draw, inside the wait; Python's own
    # handler, as at a prompt: a process started in the background by a shell without job control (as CI
    # starts its tests) inherits SIGINT ignored, and the signal would do nothing
    terminal = Terminal(on_write=lambda: os.kill(os.getpid(), signal.SIGINT))
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = gpi.queues.wait(job, stream=terminal, timeout=120)
    finally:
        signal.signal(signal.SIGINT, before)
    assert result.interrupted and not result.timed_out and not result
    assert list(result.waiting) == ["0"]
    text = terminal.getvalue()
    assert text.startswith("\r[") and "0/1 jobs" in text and text.endswith("\n"), repr(text)
    job.kill()


def test_a_dumb_terminal_gets_plain_lines_not_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    from GangaMonitoring.views.waiting import redraws

    monkeypatch.setenv("TERM", "xterm-256color")
    assert redraws(Terminal()) and not redraws(io.StringIO())
    for dumb in ("dumb", "unknown"):  # Emacs' M-x shell says it is a terminal but prints ESC [ K as text
        monkeypatch.setenv("TERM", dumb)
        assert not redraws(Terminal())


def test_what_cannot_be_waited_for_is_said(ganga_session: Any) -> None:
    gpi = ganga_session
    job = gpi.Job(backend=gpi.RecordingSubmitter(time=1))
    with pytest.raises(WaitError, match="until='done' is not a job state: use 'final' or one of"):
        gpi.queues.wait(job, until="done")
    with pytest.raises(WaitError, match="there is no job 99 in this session's job registry"):
        gpi.queues.wait([job, 99])
    with pytest.raises(WaitError, match="expected a job, a subjob, a job id"):
        gpi.queues.wait(["x"])
    with pytest.raises(WaitError, match="timeout is seconds"):
        gpi.queues.wait(job, timeout=-1)
    with pytest.raises(UsageError, match=r"queues.wait takes no 'timout' \(did you mean timeout\?\): it takes jobs, "):
        gpi.queues.wait(job, timout=30)
    with pytest.raises(UsageError, match=r"queues.jobs takes no 'colour', 'stat' \(did you mean status\?\)"):
        gpi.queues.jobs(colour=1, stat="running")
    assert "queues.wait(j)" in gpi.queues.__doc__
    assert "Returns a ``WaitResult``" in type(gpi.queues).wait.__doc__


SCRIPT = """
from GangaCore.Core import monitoring_component
print("MONITORING ENABLED", monitoring_component.enabled, flush=True)
j = Job(backend=Local(), application=Executable(exe="/bin/echo", args=["hello"]))
j.submit()
s = Job(backend=Local(), application=Executable(exe="/bin/echo"), splitter=ArgSplitter(args=[["1"], ["2"], ["3"]]))
s.submit()
result = queues.wait(jobs, timeout=300)
print("WAITED", bool(result), sorted(result.reached.items()), result.timed_out, flush=True)
"""


def test_a_script_run_by_ganga_is_monitored_and_its_wait_ends(tmp_path: Path) -> None:
    """``ganga script.py``: Ganga enables monitoring only at its prompt; with the package, a script's jobs
    are monitored, and ``queues.wait`` returns when they are final (plain lines: not a terminal)."""
    (tmp_path / ".gangarc").write_text("# Ganga configuration file ($Name: 8.7.12 $)\n"
                                       f"[Configuration]\ngangadir = {tmp_path / 'gangadir'}\n")
    (tmp_path / "script.py").write_text(SCRIPT)
    ganga = Path(sys.executable).with_name("ganga")
    command = [str(ganga), "--config", str(tmp_path / ".gangarc"), "-o[Configuration]RUNTIME_PATH=GangaMonitoring",
               "-o[PollThread]Local=1"]
    # this package's tree first: an in-process Ganga of an earlier test may have left its own PYTHONPATH
    here = str(Path(GangaMonitoring.__file__).resolve().parents[1])
    env = {**os.environ, "HOME": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([here, *filter(None, [os.environ.get("PYTHONPATH")])])}
    run = subprocess.run([*command, str(tmp_path / "script.py")], capture_output=True, text=True, timeout=600,
                         env=env, stdin=subprocess.DEVNULL, cwd=tmp_path)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "MONITORING ENABLED True" in output, output[-4000:]
    assert "WAITED True [('0', 'completed'), ('1', 'completed')] False" in output, output[-4000:]
    # job 0 may be final before the wait starts (its status file's event): the opening line says so
    assert "queues.wait: waiting for 2 job(s) to be final" in output, output[-4000:]
    assert "queues.wait: 3/3 subjobs final" in output, output[-4000:]
    # the user's word is kept: --no-mon leaves monitoring off
    (tmp_path / "off.py").write_text("from GangaCore.Core import monitoring_component\n"
                                     "print('OFF', monitoring_component.enabled, flush=True)\n")
    off = subprocess.run([*command, "--no-mon", str(tmp_path / "off.py")], capture_output=True, text=True,
                         timeout=600, env=env, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert "OFF False" in off.stdout + off.stderr, (off.stdout + off.stderr)[-4000:]
