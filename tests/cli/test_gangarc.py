"""`ganga-monitoring enable/disable/site-ini`: the user's .gangarc is edited, nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    assert "already enabled" in again.stdout
    assert rc.read_text() == content


def test_cli_disable_without_a_file_creates_none(tmp_path: Path) -> None:
    rc = tmp_path / ".gangarc"
    run = subprocess.run([sys.executable, "-m", "GangaMonitoring.cli", "disable", "--gangarc", str(rc)],
                         capture_output=True, text=True)
    assert run.returncode == 2 and f"{rc} does not exist" in run.stderr  # named: tests/cli/test_command.py
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


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "GangaMonitoring.cli", *args], capture_output=True, text=True)


def test_disable_then_enable_gives_a_file_ganga_reads(tmp_path: Path) -> None:
    """Issue 16: disable left 'RUNTIME_PATH = ', and enable then added a bare 'GangaMonitoring' line under it."""
    rc = tmp_path / ".gangarc"
    rc.write_text("[Configuration]\nRUNTIME_PATH = GangaMonitoring\n")
    assert cli("disable", "--gangarc", str(rc)).returncode == 0
    assert rc.read_text() == "[Configuration]\n"  # the option it alone held goes
    second = cli("disable", "--gangarc", str(rc))
    assert "already disabled" in second.stdout and rc.read_text() == "[Configuration]\n"
    for _ in range(2):
        assert cli("enable", "--gangarc", str(rc)).returncode == 0
    assert rc.read_text() == "[Configuration]\nRUNTIME_PATH = GangaMonitoring\n"
    assert gangarc.runtime_path(rc.read_text()) == ["GangaMonitoring"]
    assert (tmp_path / ".gangarc~").read_text() == "[Configuration]\n"  # the file before the last change


@pytest.mark.parametrize(("before", "after"), [
    ("[Configuration]\nRUNTIME_PATH = \n", "[Configuration]\nRUNTIME_PATH = GangaMonitoring\n"),
    ("[Configuration]\nRUNTIME_PATH = A:B:\n", "[Configuration]\nRUNTIME_PATH = A:B:GangaMonitoring\n"),
    ("[Configuration]\nRUNTIME_PATH: :::A\n", "[Configuration]\nRUNTIME_PATH: :::A:GangaMonitoring\n"),
    ("[Configuration]\nRUNTIME_PATH = A:\n    B\nuser = me\n",
     "[Configuration]\nRUNTIME_PATH = A:B:GangaMonitoring\nuser = me\n"),
    ("[Configuration]\r\nRUNTIME_PATH = A\r\n# mine\r\n",
     "[Configuration]\r\nRUNTIME_PATH = A:GangaMonitoring\r\n# mine\r\n"),
    ("[Configuration]", "[Configuration]\nRUNTIME_PATH = GangaMonitoring\n"),
    ("[Configuration]\nRUNTIME_PATH = A\n[Configuration2]\nRUNTIME_PATH = B\n",
     "[Configuration]\nRUNTIME_PATH = A:GangaMonitoring\n[Configuration2]\nRUNTIME_PATH = B\n"),
])
def test_values_as_ganga_reads_them(before: str, after: str) -> None:
    assert gangarc.with_runtime(before) == after
    assert gangarc.runtime_path(after)[-1] == "GangaMonitoring"  # type: ignore[index]


def test_a_file_ganga_cannot_read_is_refused_not_made_worse(tmp_path: Path) -> None:
    rc = tmp_path / ".gangarc"
    broken = "[Configuration]\nRUNTIME_PATH = A\nRUNTIME_PATH = B\n"  # a duplicate option: Ganga's parser stops
    rc.write_text(broken)
    run = cli("enable", "--gangarc", str(rc))
    assert run.returncode == 2 and "Ganga cannot read it" in run.stderr and "Traceback" not in run.stderr
    assert rc.read_text() == broken and not (tmp_path / ".gangarc~").exists()


def test_a_missing_directory_is_one_sentence(tmp_path: Path) -> None:
    run = cli("enable", "--gangarc", str(tmp_path / "no" / "such" / "x"))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "the directory" in run.stderr and "does not exist" in run.stderr


_lines = st.sampled_from([
    "# a comment", "; another", "", "user = me", "Ganga = INFO", "[Logging]", "[Configuration]", "[Other]",
    "RUNTIME_PATH = GangaDirac", "RUNTIME_PATH = A:B:", "RUNTIME_PATH =", "RUNTIME_PATH: :::X",
    "RUNTIME_PATH = GangaMonitoring", "RUNTIME_PATH = /opt/pkgs/GangaMonitoring:GangaDirac", "   continued",
])


def _readable(text: str) -> bool:
    try:
        gangarc.runtime_path(text)
    except Exception:  # noqa: BLE001 - configparser's many errors: such a file is refused, tested above
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.lists(_lines, max_size=12), st.lists(st.booleans(), min_size=1, max_size=6))
def test_any_sequence_of_enables_and_disables_against_gangas_parser(lines: list[str], steps: list[bool]) -> None:
    text = "\n".join(lines) + ("\n" if lines else "")
    if not _readable(text):
        return
    original = text
    for enable in steps:
        before = text
        text = gangarc.with_runtime(text, enable)
        path = gangarc.runtime_path(text) or []
        assert any(map(gangarc.is_ours, path)) == enable
        assert gangarc.with_runtime(text, enable) == text  # idempotent
        others = [line for line in before.splitlines() if "RUNTIME_PATH" not in line and not line.startswith(" ")]
        kept = [line for line in text.splitlines() if "RUNTIME_PATH" not in line and not line.startswith(" ")]
        assert [line for line in kept if line != "[Configuration]"] == \
            [line for line in others if line != "[Configuration]"]  # every other line, in order
    if not any(map(gangarc.is_ours, gangarc.runtime_path(original) or [])) and not steps[-1]:
        # it was not ours: whatever came between, disabled again it is the path Ganga read before
        assert (gangarc.runtime_path(text) or []) == (gangarc.runtime_path(original) or [])
