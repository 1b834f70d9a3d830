"""`ganga-monitoring enable/disable/site-ini`: the user's .gangarc is edited, nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from GangaMonitoring import gangarc


def test_enable_adds_to_an_existing_runtime_path_and_keeps_everything_else() -> None:
    text = ("# mine\n[Logging]\nGanga = INFO\n[Configuration]\n# a comment\n"
            "RUNTIME_PATH = GangaDirac:/opt/X\nuser = me\n")
    assert gangarc.with_runtime(text) == (
        "# mine\n[Logging]\nGanga = INFO\n[Configuration]\n# a comment\n"
        "RUNTIME_PATH = GangaDirac:/opt/X:GangaMonitoring\nuser = me\n")


def test_enable_twice_changes_nothing_and_disable_removes_only_ours() -> None:
    once = gangarc.with_runtime("[Configuration]\nRUNTIME_PATH = GangaDirac\n")
    assert gangarc.with_runtime(once) == once
    assert gangarc.with_runtime(once, enable=False) == "[Configuration]\nRUNTIME_PATH = GangaDirac\n"


def test_enable_adds_the_option_or_the_section_when_missing() -> None:
    assert gangarc.with_runtime("[Configuration]\nuser = me\n") == (
        "[Configuration]\nRUNTIME_PATH = GangaMonitoring\nuser = me\n")
    assert gangarc.with_runtime("[Logging]\nGanga = INFO") == (
        "[Logging]\nGanga = INFO\n[Configuration]\nRUNTIME_PATH = GangaMonitoring\n")


def test_commented_out_runtime_path_is_left_alone() -> None:
    text = "[Configuration]\n#RUNTIME_PATH = GangaDirac\n"
    assert gangarc.with_runtime(text) == "[Configuration]\nRUNTIME_PATH = GangaMonitoring\n#RUNTIME_PATH = GangaDirac\n"


def test_cli_enable_creates_a_gangarc_with_ganga_header(tmp_path: Path) -> None:
    rc = tmp_path / ".gangarc"
    run = subprocess.run([sys.executable, "-m", "GangaMonitoring.cli", "enable", "--gangarc", str(rc)],
                         capture_output=True, text=True, check=True)
    assert "enabled" in run.stdout
    content = rc.read_text()
    assert content.startswith(gangarc.HEADER)
    assert "RUNTIME_PATH = GangaMonitoring" in content
    again = subprocess.run([sys.executable, "-m", "GangaMonitoring.cli", "enable", "--gangarc", str(rc)],
                           capture_output=True, text=True, check=True)
    assert "already" in again.stdout
    assert rc.read_text() == content


def test_cli_disable_without_a_file_creates_none(tmp_path: Path) -> None:
    rc = tmp_path / ".gangarc"
    subprocess.run([sys.executable, "-m", "GangaMonitoring.cli", "disable", "--gangarc", str(rc)], check=True,
                   capture_output=True)
    assert not rc.exists()


def test_site_ini_enables_the_package() -> None:
    out = subprocess.run([sys.executable, "-m", "GangaMonitoring.cli", "site-ini"], capture_output=True,
                         text=True, check=True).stdout
    assert "[Configuration]\nRUNTIME_PATH = GangaMonitoring\n" in out


def test_every_monitoring_option_is_documented() -> None:
    from GangaMonitoring.config import EXTRA_POLL_RATES, MONITORING_OPTIONS

    doc = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    missing = [name for name in [*MONITORING_OPTIONS, *EXTRA_POLL_RATES] if f"`{name}`" not in doc]
    assert not missing
