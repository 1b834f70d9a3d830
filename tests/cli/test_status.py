"""``ganga-monitoring status``: a running session's monitoring, from a shell (issue 16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from GangaMonitoring.views import status_file


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "GangaMonitoring.cli", "status", *args],
                          capture_output=True, text=True)


def test_no_session_ever_is_one_clear_line(tmp_path: Path) -> None:
    result = cli("--gangadir", str(tmp_path))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "no Ganga session with GangaMonitoring enabled" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_prints_what_queues_showed_with_whose_and_how_old(tmp_path: Path) -> None:
    status_file.write(str(tmp_path), "enabled", "GangaMonitoring: enabled; ...\nBackends:\n  SimGrid ...",
                      {"enabled": True}, now=1000.0)
    result = cli("--gangadir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    first, *rest = result.stdout.splitlines()
    # this test process wrote it and is alive
    assert first.startswith(f"Session pid {os.getpid()} on ") and "monitoring enabled; snapshot of" in first
    assert rest == ["GangaMonitoring: enabled; ...", "Backends:", "  SimGrid ..."]
    document = json.loads(cli("--gangadir", str(tmp_path), "--json").stdout)
    assert document["state"] == "enabled" and document["snapshot"] == {"enabled": True}


def test_a_session_that_died_or_stopped_says_so() -> None:
    status = status_file.SessionStatus(written_at=100.0, pid=12345, host=os.uname().nodename, state="enabled",
                                       text="", snapshot={})
    assert "is no longer running" in status_file.describe(status, 130.0, alive=lambda pid: False)
    assert status_file.describe(status, 130.0, alive=lambda pid: True) == \
        f"Session pid 12345 on {status.host}, monitoring enabled; snapshot of 30 s ago:"
    stopped = status_file.SessionStatus(100.0, 12345, status.host, "stopped", "", {})
    assert status_file.describe(stopped, 160.0, alive=lambda pid: False).startswith(
        f"The session (pid 12345 on {status.host}) stopped 60 s ago")


@pytest.mark.parametrize("content, why", [("{not json", "not a status file"),
                                          ('{"format": 1, "pid": 3}', "missing or bad"),
                                          ('{"format": 99}', "format 99"),
                                          ("[1, 2]", "not a status file")])
def test_a_damaged_file_is_named_not_a_traceback(tmp_path: Path, content: str, why: str) -> None:
    path = Path(status_file.path_in(str(tmp_path)))
    path.parent.mkdir()
    path.write_text(content)
    result = cli("--gangadir", str(tmp_path))
    assert result.returncode == 1 and why in result.stderr and "Traceback" not in result.stderr


def test_a_write_is_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    status_file.write(str(tmp_path), "enabled", "first", {}, now=1.0)

    def full_disk(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(json, "dump", full_disk)
    with pytest.raises(OSError):
        status_file.write(str(tmp_path), "enabled", "second", {}, now=2.0)
    assert status_file.read(str(tmp_path)).text == "first"
    assert os.listdir(os.path.dirname(status_file.path_in(str(tmp_path)))) == ["status.json"]  # no temp left


def test_the_gangadir_comes_from_the_gangarc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    rc = tmp_path / ".gangarc"
    assert status_file.default_gangadir(str(rc)) == str(tmp_path / "gangadir")
    rc.write_text("[Configuration]\ngangadir = ~/work/gd\n")
    assert status_file.default_gangadir(str(rc)) == str(tmp_path / "work" / "gd")
    rc.write_text("not an ini file\n")
    assert status_file.default_gangadir(str(rc)) == str(tmp_path / "gangadir")
