"""Checks of one commit's tree: that it imports, and (if asked) that Ganga's Unit suite passes on it.

Both run the tree in place, with an interpreter that has Ganga's
dependencies and ours (by default the one running the generator), through
a light virtual environment (:func:`tree_python`; pytest-mock, Ganga's dev
extra, added if missing) whose ``.pth`` file puts the tree's root and its
``ganga/`` directory on ``sys.path`` before that interpreter's packages:
``import ganga`` and ``import GangaCore`` are the tree's, whatever else is
installed (the import check asserts it), also in the child processes that
tests start with a ``PYTHONPATH`` of their own.  HOME is a temp directory
(Ganga reads ``~/.gangarc`` and writes ``~/.ganga.log``).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CheckResult:
    """What one check of one commit found."""

    name: str
    ok: bool
    summary: str
    seconds: float
    output: str = ""


def tree_python(tree: Path, python: str, venv: Path) -> str:
    """An interpreter that sees ``tree`` first, then ``python``'s packages (a venv at ``venv``, made once)."""
    interpreter = venv / "bin" / "python"
    if not interpreter.exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    packages = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    own = subprocess.run([str(interpreter), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    Path(own, "ganga-tree.pth").write_text(f"{tree}\n{tree / 'ganga'}\n{packages}\n")
    if subprocess.run([str(interpreter), "-c", "import pytest_mock"], capture_output=True).returncode != 0:
        # Ganga's dev extra: its credential tests use the "mocker" fixture
        subprocess.run([str(interpreter), "-m", "pip", "install", "--quiet", "--no-deps", "pytest-mock"], check=True)
    return str(interpreter)


def reap_home(home: str) -> int:
    """Kill every process whose HOME is ``home`` (this check's temp HOME); returns how many.

    Jobs of Ganga's Local backend that tests submit run in sessions of their own and outlive the
    suite (seen: two of them per Unit run, each looping at full CPU, still there half an hour later).
    """
    killed = 0
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"HOME={home}".encode() in environ.read_bytes().split(b"\0"):
                os.kill(int(environ.parent.name), signal.SIGKILL)
                killed += 1
        except (OSError, ValueError):  # gone meanwhile, or not ours to read
            continue
    return killed


def _environment(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GANGA_", "PYTHONPATH"))}
    env.update(HOME=home, PYTHONDONTWRITEBYTECODE="1")
    return env


NOT_IMPORTED = ("/DIRAC/",)
"""Package files not imported by the check: the simulated DIRAC installation is imported as ``DIRAC`` by
the DIRAC process it serves, never as part of the package."""


def package_modules(tree: Path, package_dir: str, package: str) -> tuple[str, ...]:
    """Every module of ``package`` (at ``tree/package_dir``) in the tree, less :data:`NOT_IMPORTED`."""
    base = tree / package_dir
    if not base.is_dir():
        return ()
    names = []
    for path in sorted(base.rglob("*.py")):
        relative = path.relative_to(base).with_suffix("").as_posix()
        if any(part in f"/{relative}/" for part in NOT_IMPORTED):
            continue
        dotted = ".".join(p for p in relative.split("/") if p != "__init__")
        names.append(f"{package}.{dotted}" if dotted else package)
    return tuple(names)


def check_imports(tree: Path, modules: tuple[str, ...], python: str = sys.executable) -> CheckResult:
    """Import ``GangaCore`` (asserting it is the tree's) and then each of ``modules``."""
    code = ("import GangaCore\n"
            f"assert GangaCore.__file__.startswith({str(tree)!r}), GangaCore.__file__\n"
            f"for name in {list(modules)!r}:\n"
            "    __import__(name)\n"
            f"print('imported GangaCore and {len(modules)} modules')\n")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="upstream-patch-home-") as home:
        done = subprocess.run([python, "-c", code], cwd=home, env=_environment(home), capture_output=True,
                              text=True, timeout=300)
    output = done.stdout + done.stderr
    last = output.strip().splitlines()[-1] if output.strip() else "no output"
    return CheckResult("import", done.returncode == 0, f"GangaCore + {len(modules)} modules" if done.returncode == 0
                       else last, time.monotonic() - started, output)


_SUMMARY = re.compile(r"^=* ?(?P<summary>\d+ (passed|failed|errors?)\b.*? in [\d.]+s( \([\d:]+\))?) ?=*$", re.MULTILINE)


def check_unit(tree: Path, python: str = sys.executable, extra: tuple[str, ...] = ()) -> CheckResult:
    """Run Ganga's Unit suite (``ganga/GangaCore/test/Unit``) on the tree in place; ok if nothing failed.

    Collected as upstream's CI does, plus our ``test_*.py`` files; the udocker installation test
    (it downloads from the internet) is left out.
    """
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="upstream-patch-home-") as home:
        command = [python, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "-rfE",
                   "-o", "python_files=Test*.py test_*.py", "-o", "addopts=",
                   "--deselect", "ganga/GangaCore/test/Unit/Utility/TestUtilitiesVirtualizationInstallUDocker.py",
                   "ganga/GangaCore/test/Unit", *extra]
        try:
            done = subprocess.run(command, cwd=tree, env=_environment(home), capture_output=True, text=True,
                                  timeout=3600, start_new_session=True)
        finally:
            reap_home(home)
    output = done.stdout + done.stderr
    found = _SUMMARY.findall(output)
    summary = found[-1][0] if found else (output.strip().splitlines() or ["no output"])[-1]
    return CheckResult("unit", done.returncode == 0, summary, time.monotonic() - started, output)


_LEDGER_PROBE = """
import inspect, os, sys, tempfile
from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga
start_ganga(tempfile.mkdtemp(prefix="gangadir-"))
from GangaCore.Core import monitoring_component
from GangaCore.Core.MonitoringComponent.patches import ledger
print("COMPONENT", type(monitoring_component).__name__)
for owner, name, _ in list(ledger._wrapped_actions):
    where = inspect.getsourcefile(owner) if inspect.isclass(owner) else getattr(owner, "__file__", None)
    label = owner.__name__ if inspect.ismodule(owner) else owner.__module__ + "." + owner.__qualname__
    print("PATCH", label + "." + name, os.path.relpath(where, TREE) if where else "-")
stop_ganga()
"""


def check_leftover_patches(tree: Path, edited: list[str], python: str = sys.executable) -> CheckResult:
    """Start Ganga from the tree (its component on) and list the load-time patches installed.

    Ok if none targets a class or module defined in a file of ``edited`` (Ganga files the series
    edits): such a class would then be changed in two places.  The output lists every patch left,
    flagged where it is on an edited file, for a maintainer to see.
    """
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="upstream-patch-home-") as home:
        code = f"TREE = {str(tree)!r}\n" + _LEDGER_PROBE
        try:
            done = subprocess.run([python, "-c", code], cwd=home, env=_environment(home), capture_output=True,
                                  text=True, timeout=300, start_new_session=True)
        finally:
            reap_home(home)
    patches = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("PATCH ")]
    component = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("COMPONENT ")]
    if done.returncode != 0 or not component:
        return CheckResult("leftover", False, "Ganga did not start from the tree", time.monotonic() - started,
                           done.stdout[-2000:] + done.stderr[-3000:])
    on_edited = [(target, where) for target, where in patches if where in edited]
    listing = [f"{'ON AN EDITED FILE ' if where in edited else ''}{target} ({where})" for target, where in patches]
    summary = (f"{len(patches)} load-time patches left (component {component[0]}), "
               f"{len(on_edited)} on files the series edits")
    return CheckResult("leftover", not on_edited, summary, time.monotonic() - started, "\n".join(listing))
