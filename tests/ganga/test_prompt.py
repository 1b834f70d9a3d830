"""The real interactive ``ganga`` prompt (IPython), driven through a pseudo-terminal."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest

from GangaMonitoring.simulator.process import SimGridProcess

pytestmark = pytest.mark.ganga

PROMPT = re.compile(r"In \[\d+\]: ")


def run(child: pexpect.spawn, command: str) -> str:
    """Type ``command`` at the prompt; return what it printed.

    The end marker is printed by a concatenation, so the echo of the typed
    line (which contains the two halves apart) never matches it.
    """
    child.sendline(f'{command}; print("END" + "-OF-" + "COMMAND")')
    child.expect("END-OF-COMMAND")
    output = child.before
    child.expect(PROMPT)
    return output


def test_queues_at_the_prompt_while_1000_simulator_jobs_are_monitored(tmp_path: Path) -> None:
    home = tmp_path
    (home / ".gangarc").write_text("# Ganga configuration file ($Name: 8.7.12 $)\n"
                                   f"[Configuration]\ngangadir = {home / 'gangadir'}\n")
    (home / ".cache" / "Ganga").mkdir(parents=True)
    (home / ".cache" / "Ganga" / ".used_versions").write_text("8.7.12\n")
    ganga = str(Path(sys.executable).with_name("ganga"))
    with SimGridProcess("--queue-time", "0", "5", "--run-time", "5", "20", "--latency", "0.02") as url:
        child = pexpect.spawn(ganga, ["-o[Configuration]RUNTIME_PATH=GangaMonitoring", f"-o[SimGrid]server={url}",
                                      "-o[PollThread]SimGrid=1"],
                              env={**os.environ, "HOME": str(home), "TERM": "dumb"}, cwd=str(home),
                              encoding="utf-8", timeout=240, dimensions=(60, 200))
        try:
            child.expect(PROMPT)
            run(child, "j = Job(backend=SimGrid(), splitter=ArgSplitter(args=[[str(i)] for i in range(1000)]))")
            run(child, "j.submit()")
            shown = run(child, "print(queues)")
            assert "Ganga user threads" in shown and "GangaMonitoring: enabled" in shown, shown[-3000:]
            assert re.search(r"SimGrid\s+1 (running|submitted|completing)", shown), shown[-3000:]
            assert "job 0 is" in run(child, "print(queues.why(j))")
            child.sendline("exit()")
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
