"""What a user types at the real ``ganga`` prompt (IPython on a colour terminal), through a pseudo-terminal.

Each test starts the installed ``ganga`` program with a HOME of its own (a
``.gangarc`` naming a gangadir there, and the version already known, so no
first-run wizard) and the package enabled on the command line, as
``tests/ganga/test_ganga_program.py`` does, then types at its prompt.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from ..conftest import end_processes

pytestmark = pytest.mark.ganga

ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>78])")
BANNERS = ("Traceback", "Unknown/Unexpected ERROR", "report this to the Ganga developers")
"""What Ganga prints for an exception nobody turned into a sentence."""
WATCH_FOOTER = "(q, Esc or Ctrl-C: back to the prompt; ?: help)"


def prompt_number(number: int) -> re.Pattern[str]:
    """Ganga's IPython prompt ``Ganga In [N]:``, whose parts are coloured apart."""
    colour = r"(\x1b\[[0-9;]*m)*"
    return re.compile(rf"Ganga In \[{colour}{number}{colour}\]")


def plain(terminal_output: str) -> str:
    """The text of terminal output: no escape sequences, no carriage returns."""
    return ESCAPE.sub("", terminal_output).replace("\r", "")


SCREEN_TOKEN = re.compile(r"\x1b\[(\d*)C|\x1b\[[0-9;?]*[A-Za-z]|(\r)|(\x08)|(.)", re.DOTALL)


def screen_lines(frame: str) -> list[str]:
    """The lines a full-screen frame leaves on the terminal, as the terminal shows them.

    prompt_toolkit writes a line's last column after a carriage return and
    a cursor move (``\\r\\x1b[79C``); those are replayed within each line.
    """
    lines = []
    for raw in re.split(r"\r*\n", frame):
        cells: dict[int, str] = {}
        column = 0
        for match in SCREEN_TOKEN.finditer(raw):
            forward, carriage_return, backspace, char = match.groups()
            if forward is not None:
                column += int(forward or 1)
            elif carriage_return:
                column = 0
            elif backspace:
                column = max(0, column - 1)
            elif char is not None:
                cells[column] = char
                column += 1
        lines.append("".join(cells.get(c, " ") for c in range(max(cells, default=-1) + 1)).rstrip())
    return lines


class GangaPrompt:
    """An interactive ``ganga`` in a pseudo-terminal; :meth:`run` types a line and returns what it printed."""

    def __init__(self, child: pexpect.spawn, transcript: io.StringIO) -> None:
        self.child = child
        self.transcript = transcript
        self.number = 1
        child.expect(prompt_number(1), timeout=180)  # Ganga's start

    def run(self, line: str, timeout: float = 60) -> str:
        """Type ``line``; return the plain text printed after its echo, up to the next prompt."""
        self.child.sendline(line)
        self.number += 1
        self.child.expect(prompt_number(self.number), timeout=timeout)
        return after_echo(plain(self.child.before), line)

    def watch(self, *keys: tuple[str, str]) -> str:
        """Type ``queues.watch()`` and wait for a repaint; then each (key, text it shows); then ``q``.

        Returns the raw output of the repainted frame.
        """
        self.child.sendline("queues.watch()")
        self.child.expect_exact(WATCH_FOOTER, timeout=60)
        self.child.expect(r"GangaMonitoring watch, \d\d:\d\d:\d\d \(every 2 s\)", timeout=60)  # a clock, repainted
        self.child.expect_exact(WATCH_FOOTER, timeout=60)
        shown: str = self.child.before
        for key, text in keys:
            self.child.send(key)
            self.child.expect_exact(text, timeout=60)
        self.child.send("q")
        self.number += 1
        self.child.expect(prompt_number(self.number), timeout=60)  # back at the prompt
        return shown

    def exit(self) -> int | None:
        """Type ``exit``; Ganga's exit status."""
        self.child.sendline("exit")
        self.child.expect(pexpect.EOF, timeout=120)
        self.child.close()
        status: int | None = self.child.exitstatus
        return status


def after_echo(text: str, line: str) -> str:
    """What follows the last echo of ``line`` (prompt_toolkit repaints the input line as it is typed)."""
    where = text.rfind(line)
    return text[where + len(line):] if where >= 0 else text


@contextlib.contextmanager
def ganga_prompt(home: Path, columns: int) -> Iterator[GangaPrompt]:
    """The real ``ganga`` with GangaMonitoring, its HOME ``home``, on a colour terminal ``columns`` wide.

    On the way out, the program and every process still carrying ``home``
    as its HOME (Ganga's workers, a job's processes) are ended, whatever
    the test's outcome.
    """
    (home / ".gangarc").write_text("# Ganga configuration file ($Name: 8.7.12 $)\n"
                                   f"[Configuration]\ngangadir = {home / 'gangadir'}\n")
    (home / ".cache" / "Ganga").mkdir(parents=True)
    (home / ".cache" / "Ganga" / ".used_versions").write_text("8.7.12\n")
    ganga = str(Path(sys.executable).with_name("ganga"))
    transcript = io.StringIO()
    child = pexpect.spawn(ganga, ["-o[Configuration]RUNTIME_PATH=GangaTest:GangaMonitoring",
                                  "-o[PollThread]TestSubmitter=1"],
                          env={**os.environ, "HOME": str(home), "TERM": "xterm-256color", "PAGER": "cat"},
                          cwd=str(home),
                          encoding="utf-8", codec_errors="replace", timeout=60, dimensions=(40, columns))
    child.logfile_read = transcript
    try:
        yield GangaPrompt(child, transcript)
    except (pexpect.TIMEOUT, pexpect.EOF) as err:
        last = plain(transcript.getvalue())[-4000:]
        raise AssertionError(f"{type(err).__name__} at the prompt; the session's last output:\n{last}") from None
    finally:
        child.close(force=True)
        reap_home(home)


def reap_home(home: Path, timeout: float = 5.0) -> None:
    """Terminate (then kill) every process whose environment has HOME=``home``."""
    import psutil

    mine = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.pid != os.getpid() and process.environ().get("HOME") == str(home):
                mine.append(process)
    end_processes(mine, timeout)


def no_banner(text: str) -> bool:
    return not any(banner in text for banner in BANNERS)


def test_a_users_session_queues_why_watch_and_exit(tmp_path: Path) -> None:
    with ganga_prompt(tmp_path, columns=160) as ganga:
        shown = ganga.run("queues")
        assert "Ganga user threads" in shown, shown  # Ganga's own part
        assert "GangaMonitoring: enabled" in shown and "Backends:" in shown and "Queued:" in shown, shown

        missing = ganga.run("queues.why(12345)")
        assert "queues.why: there is no job 12345 in this session's job registry" in missing, missing
        assert no_banner(missing), missing
        wrong = ganga.run("queues.why('abc')")
        assert "queues.why: expected a job, a subjob, a job id or 'id.subid' (such as 8 or '8.41'), got 'abc'" \
            in wrong, wrong
        assert no_banner(wrong), wrong
        typo = ganga.run("queues.wyh(12345)")  # one line, as Ganga's own attribute typos: no traceback
        assert "GangaAttributeError: queues has no 'wyh': did you mean queues.why?" in typo, typo
        assert no_banner(typo), typo

        helped = ganga.run("help(queues)")  # what a user can type, not how it is built (issue 29)
        assert "queues.jobs()" in helped and "queues.why(j)" in helped and "ganga-monitoring jobs" in helped, helped
        assert "Ganga's kind of AttributeError" not in helped and no_banner(helped), helped

        later = ganga.run("config.Monitoring.io_workers = 4")  # read when the component is built
        assert "[Monitoring]io_workers applies from the next Ganga start; this session keeps 8" in later, later
        refused = ganga.run("config.Monitoring.io_workers = -1")
        assert "[Monitoring]io_workers must be an integer of at least 1, not -1: it keeps its value, 4" in refused, \
            refused
        assert "applies from the next Ganga start" not in refused, refused  # nothing changed
        assert no_banner(later + refused), later + refused

        ganga.run("j = Job(backend=TestSubmitter(time=1))")
        ganga.run("j.submit()")
        ganga.run("import time; deadline = time.time() + 120")
        ganga.run("while j.status != 'completed' and time.time() < deadline: time.sleep(0.2)", timeout=180)
        assert "STATUS completed" in ganga.run("print('STATUS', j.status)")
        done = ganga.run("queues.why(j)")
        assert "job 0 is completed: it is not being monitored" in done, done
        assert no_banner(done), done
        table = plain(ganga.run("queues.jobs()"))  # issue 29, item 4: printed as the table, not a quoted str
        assert re.search(r"^ID +NAME +STATUS +BACKEND +BACKEND ID +RUN TIME +REASON$", table, re.M), table
        assert re.search(r"^0 +completed +TestSubmitter\b", table, re.M) and "\\n" not in table, table
        assert no_banner(table), table

        # issue 29, item 3: a program that failed says how, in why and in the table
        ganga.run("f = Job(application=Executable(exe='sh', args=['-c', 'echo broken >&2; exit 3']), backend=Local())")
        ganga.run("f.submit()")
        ganga.run("while f.status != 'failed' and time.time() < deadline + 120: time.sleep(0.2)", timeout=180)
        failed = ganga.run("queues.why(f)")
        assert "job 1 is failed" in failed and "it failed: its program exited with code 3; its standard error: " \
            in failed, failed
        assert re.search(r"^1 +failed +Local\b.*exit code 3", plain(ganga.run("queues.jobs()")), re.M)

        frame = plain(ganga.watch(("?", "retry the output of every job"), ("?", "Backends:")))
        assert "GangaMonitoring: enabled" in frame and "Backends:" in frame, frame
        assert "GangaMonitoring: enabled" in ganga.run("print(queues)")  # the prompt works after the watch

        assert ganga.exit() == 0
        assert no_banner(plain(ganga.transcript.getvalue())), plain(ganga.transcript.getvalue())[-4000:]


def test_the_watch_at_80_columns_keeps_each_backends_health(tmp_path: Path) -> None:
    """Issue 16: at 80 columns the watch's lines were cut at the terminal's edge, mid-field."""
    with ganga_prompt(tmp_path, columns=80) as ganga:
        ganga.run("j = Job(backend=TestSubmitter(time=600))")
        ganga.run("j.submit()")
        ganga.run("import time; time.sleep(3)")  # polled once at least
        lines = screen_lines(ganga.watch())
        [backend] = [line for line in lines if line.startswith("  TestSubmitter ")]
        # what did not fit gave way whole (the next poll, the last one's detail): no field is cut in two
        assert re.fullmatch(r"  TestSubmitter  ok; 1 job: 1 (submitted|running); last poll \d+\.\d s ago"
                            r"( \(1 job; it took \d+\.\d\d s\))?", backend), lines
        [header] = [line for line in lines if line.startswith("GangaMonitoring: ")]
        assert header.startswith("GangaMonitoring: enabled; ") and not header.endswith("\u2026"), lines
        assert "job 0 is" in ganga.run("queues.why(j)")
        assert ganga.exit() == 0
