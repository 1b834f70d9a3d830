"""The real interactive ``ganga`` prompt (IPython), driven through a pseudo-terminal."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest

from GangaMonitoring.simulator.client import SimGridClient
from GangaMonitoring.simulator.process import SimGridProcess

pytestmark = pytest.mark.ganga

PROMPT = re.compile(r"In \[\d+\]: ")


def run(child: pexpect.spawn, command: str) -> str:
    """Type ``command`` at the prompt; return what it printed, then what was printed before the next prompt.

    The end marker is printed by a concatenation, so the echo of the typed
    line (which contains the two halves apart) never matches it.
    """
    child.sendline(f'{command}; print("END" + "-OF-" + "COMMAND")')
    child.expect("END-OF-COMMAND")
    output = child.before
    child.expect(PROMPT)
    return output + child.before  # the second part: what post_execute printed (notices)


def run_until(child: pexpect.spawn, text: str, attempts: int = 60) -> str:
    """Run a trivial command until ``text`` appears before the next prompt (a notice)."""
    for _ in range(attempts):
        output = run(child, "import time; time.sleep(0.5)")
        if text in output:
            return output
    raise AssertionError(f"{text!r} never appeared at the prompt")


def watch_frames(child: pexpect.spawn) -> None:
    """On a dumb terminal ``queues.watch`` prints frames; with ``count`` it returns to the prompt.

    Leaving it with Ctrl-C is tested on the watch itself (tests/core/test_views.py); here,
    under a fully loaded machine, a Ctrl-C sent through the pty was sometimes never turned into a
    KeyboardInterrupt in Ganga's main thread (see the issue notes), so this test does not depend on it.
    """
    child.sendline("queues.watch(interval=0.3, count=2)")
    for _ in range(2):
        child.expect_exact("GangaMonitoring: enabled")
    try:
        child.expect(PROMPT, timeout=60)
    except pexpect.TIMEOUT:
        raise AssertionError(f"no prompt after queues.watch(count=2); threads:\n{thread_dump(child.pid)}") from None


def thread_dump(pid: int) -> str:
    """Where every thread of ``pid`` is (py-spy), to diagnose a hang from a test failure alone."""
    import subprocess

    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        return "(py-spy is not installed)"
    dump = subprocess.run([str(spy), "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=60)
    # the main thread first (py-spy lists it first), then ours; Ganga's idle pools are noise
    blocks = dump.stdout.split("\nThread ")
    wanted = [b for n, b in enumerate(blocks) if n <= 1 or "GangaMon" in b or "GangaMonitoring" in b]
    return "\nThread ".join(wanted)[:12000] + dump.stderr[-2000:]


def notice_when_the_grid_fails_and_when_it_is_back(child: pexpect.spawn, grid: SimGridClient) -> None:
    grid.start_outage(15)
    failing = run_until(child, "GangaMonitoring: SimGrid ")  # "failing (3 polls...)" or "down" (breaker)
    assert re.search(r"GangaMonitoring: SimGrid (failing|down) .*\(type `queues` for details\)", failing), failing
    assert failing.split("GangaMonitoring: SimGrid ")[0].endswith("\n")  # on a line of its own
    run_until(child, "GangaMonitoring: monitoring is back to normal")


def test_queues_at_the_prompt_while_1000_simulator_jobs_are_monitored(tmp_path: Path) -> None:
    home = tmp_path
    (home / ".gangarc").write_text("# Ganga configuration file ($Name: 8.7.12 $)\n"
                                   f"[Configuration]\ngangadir = {home / 'gangadir'}\n")
    (home / ".cache" / "Ganga").mkdir(parents=True)
    (home / ".cache" / "Ganga" / ".used_versions").write_text("8.7.12\n")
    ganga = str(Path(sys.executable).with_name("ganga"))
    with SimGridProcess("--queue-time", "0", "5", "--run-time", "40", "120", "--latency", "0.02") as url:
        child = pexpect.spawn(ganga, ["-o[Configuration]RUNTIME_PATH=GangaMonitoring", f"-o[SimGrid]server={url}",
                                      "-o[PollThread]SimGrid=1"],
                              env={**os.environ, "HOME": str(home), "TERM": "dumb"}, cwd=str(home),
                              encoding="utf-8", timeout=240, dimensions=(60, 200))
        try:
            child.expect(PROMPT)
            run(child, "j = Job(backend=SimGrid(), splitter=ArgSplitter(args=[[str(i)] for i in range(1000)]))")
            run(child, "j.submit()")
            child.sendline("queues")  # a bare expression: IPython displays it (_repr_pretty_)
            shown = run(child, "pass")
            assert "Ganga user threads" in shown and "GangaMonitoring: enabled" in shown, shown[-3000:]
            assert re.search(r"SimGrid\s+ok; 1 job: 1 (running|submitted|completing)", shown), shown[-3000:]
            assert "job 0 is" in run(child, "print(queues.why(j))")
            watch_frames(child)
            notice_when_the_grid_fails_and_when_it_is_back(child, SimGridClient(url))
            child.sendline("exit()")
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
