"""``ganga-monitoring`` itself, through the real command: each subcommand's errors print its own usage, a
--gangarc that does not exist is said so, and --version."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import GangaMonitoring


def cli(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home)} if home is not None else None
    return subprocess.run([sys.executable, "-m", "GangaMonitoring.cli", *args], capture_output=True, text=True,
                          timeout=90, env=env)


@pytest.mark.parametrize("command", ["status", "enable", "disable", "site-ini", "demo", "simgrid"])
def test_a_subcommands_unknown_option_prints_its_own_usage(tmp_path: Path, command: str) -> None:
    result = cli(command, "--bogus", home=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"usage: ganga-monitoring {command} ")
    assert lines[-1] == f"ganga-monitoring {command}: error: unrecognized arguments: --bogus"


def test_an_unknown_command_or_option_before_it_prints_the_top_level_usage() -> None:
    for args in (["frobnicate"], ["--bogus", "status"], []):
        result = cli(*args)
        assert result.returncode == 2 and result.stderr.startswith("usage: ganga-monitoring [-h] [--version]")


def test_version_names_the_package_and_ganga() -> None:
    import importlib.metadata

    result = cli("--version")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == (f"ganga-monitoring {GangaMonitoring.__version__} "
                             f"(Ganga {importlib.metadata.version('ganga')})\n")


def test_status_with_a_gangarc_that_does_not_exist_says_so(tmp_path: Path) -> None:
    (tmp_path / "gangadir").mkdir()  # the default gangadir exists: the command must not fall back on it
    missing = tmp_path / "nope"
    result = cli("status", "--gangarc", str(missing), home=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"ganga-monitoring status: --gangarc {missing} does not exist\n"


def test_status_with_a_gangarc_it_cannot_read_says_so(tmp_path: Path) -> None:
    (tmp_path / "gangadir").mkdir()
    rc = tmp_path / "rc"
    rc.mkdir()
    result = cli("status", "--gangarc", str(rc), home=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"ganga-monitoring status: cannot read {rc}: Is a directory\n"


def test_status_without_a_gangarc_uses_the_default_gangadir(tmp_path: Path) -> None:
    """No ~/.gangarc (the default, not named): ~/gangadir, as Ganga itself would."""
    result = cli("status", home=tmp_path)
    assert result.returncode == 1 and f"no monitoring status in {tmp_path / 'gangadir'} " in result.stderr


@pytest.mark.parametrize("command", ["disable", "status"])
def test_a_named_gangarc_that_does_not_exist_is_an_error_and_creates_nothing(tmp_path: Path,
                                                                           command: str) -> None:
    missing = tmp_path / "nonexistent"
    result = cli(command, "--gangarc", str(missing), home=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"ganga-monitoring {command}: --gangarc {missing} does not exist\n"
    assert sorted(os.listdir(tmp_path)) == []


def test_disable_without_a_gangarc_says_there_is_none(tmp_path: Path) -> None:
    result = cli("disable", home=tmp_path)
    assert result.returncode == 0
    assert result.stdout == (f"{tmp_path / '.gangarc'} does not exist: GangaMonitoring is not enabled in it; "
                             "nothing changed\n")
    assert not (tmp_path / ".gangarc").exists()


def test_enable_creates_a_missing_gangarc_and_says_so(tmp_path: Path) -> None:
    result = cli("enable", home=tmp_path)
    assert result.returncode == 0
    rc = tmp_path / ".gangarc"
    assert result.stdout.startswith(f"GangaMonitoring enabled in {rc} (a new file: there was none). ")
    assert "RUNTIME_PATH = GangaMonitoring" in rc.read_text()


def test_enable_on_a_named_missing_file_creates_it_and_says_how_ganga_reads_it(tmp_path: Path) -> None:
    rc = tmp_path / "site.ini"
    result = cli("enable", "--gangarc", str(rc), home=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith(f"GangaMonitoring enabled in {rc} (a new file: there was none). ")
    assert f"ganga --config {rc}" in result.stdout
    assert "RUNTIME_PATH = GangaMonitoring" in rc.read_text()
