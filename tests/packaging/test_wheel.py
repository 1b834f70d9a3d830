"""The package as a user gets it: built into an sdist and a wheel, installed, run by ``ganga``.

The build runs without isolation (``python -m build --no-isolation``), with the ``build`` front end
and setuptools the test extra installs, so nothing is fetched.  It builds from a copy of the
checkout's build inputs, so nothing (``build/``, ``*.egg-info``) is written into the checkout.
The wheel goes into a fresh virtual environment with ``pip install --no-deps --no-index``; its
dependencies (Ganga and the rest) come from this test's own environment through a ``.pth`` line
added after the install, so the fresh environment's site-packages comes first and the copy
installed there, not ``src/``, is what gets imported.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.ganga  # builds, installs and starts the real ganga program (slower)

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "GangaMonitoring"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
VERSION = PYPROJECT["version"]
# what never belongs in a build: byte code, tool caches, setuptools' leftovers
NOT_COPIED = shutil.ignore_patterns(".*", "__pycache__", "*.pyc", "*.egg-info")

SCRIPT = """
import importlib.metadata
import GangaCore.Core as core
import GangaMonitoring
print("FILE", GangaMonitoring.__file__)
print("VERSION", GangaMonitoring.__version__, importlib.metadata.version("ganga-monitoring"))
print("COMPONENT", type(core.monitoring_component).__name__)
enableMonitoring()  # a script's session does not start monitoring by itself
print(queues)
"""


@dataclass(frozen=True)
class Built:
    log: str
    sdist: Path
    wheel: Path
    tree: Path  # the copy of the work tree it was built from


@dataclass(frozen=True)
class Installed:
    venv: Path
    site_packages: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without what would change the build's output or the import path."""
    # PYTHONDONTWRITEBYTECODE makes distutils print "warning: byte-compiling is disabled"
    drop = {"PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def warning_lines(log: str) -> list[str]:
    """Lines of a build log that warn (a file named like ``warnings.py`` does not count)."""
    return [line for line in log.splitlines()
            if re.search(r"(?i)warn", re.sub(r"\S+\.py\b", "", line)) or line.strip() == "!!"]


def copy_build_inputs(tree: Path) -> None:
    """What a build of the checkout reads: its top-level files (pyproject.toml, README.md, any license
    or MANIFEST.in) and src/; not .venv, docs or tests, nor files others are writing meanwhile."""
    tree.mkdir()
    for path in ROOT.iterdir():
        if path.is_file() and not path.name.startswith("."):
            shutil.copy2(path, tree / path.name)
    shutil.copytree(ROOT / "src", tree / "src", ignore=NOT_COPIED)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    work = tmp_path_factory.mktemp("build")
    tree = work / "tree"
    copy_build_inputs(tree)
    try:
        import build  # noqa: F401
    except ImportError:
        pytest.fail("the `build` front end is missing: it is in the test extra (pip install -e '.[test]')")
    dist = work / "dist"
    # sdist first, then the wheel from the sdist (build's default): the wheel proves the sdist complete
    run = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(tree)],
                         capture_output=True, text=True, timeout=600, cwd=work, env=clean_env(),
                         stdin=subprocess.DEVNULL)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-5000:]
    sdists, wheels = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, (sorted(p.name for p in dist.iterdir()), log[-3000:])
    return Built(log=log, sdist=sdists[0], wheel=wheels[0], tree=tree)


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    venv = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    # this environment's pip installs into the new one (pip --python), the wheel alone, from nothing but the file
    run = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                          "--no-deps", "--no-index", "--no-cache-dir", str(built.wheel)],
                         capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
                         env=clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1"))
    assert run.returncode == 0, run.stdout + run.stderr
    site_packages = Path(subprocess.run([str(venv / "bin" / "python"), "-c",
                                         "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        capture_output=True, text=True, check=True, env=clean_env()).stdout.strip())
    # the dependencies (Ganga, tenacity, ...) from this environment, after the new one's own site-packages;
    # .pth files there (such as this checkout's editable install, which points at src/) are not read
    (site_packages / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # the real ganga program, as pip would have written it into the new environment
    ganga = Path(sys.executable).with_name("ganga").read_text().split("\n", 1)[1]
    (venv / "bin" / "ganga").write_text(f"#!{venv / 'bin' / 'python'}\n{ganga}")
    (venv / "bin" / "ganga").chmod(0o755)
    return Installed(venv=venv, site_packages=site_packages)


def test_the_build_gives_an_sdist_and_a_wheel_without_warnings(built: Built) -> None:
    assert warning_lines(built.log) == [], built.log[-5000:]
    assert built.sdist.name == f"ganga_monitoring-{VERSION}.tar.gz"
    assert built.wheel.name == f"ganga_monitoring-{VERSION}-py3-none-any.whl"
    with tarfile.open(built.sdist) as sdist:
        names = sdist.getnames()
        pkg_info = sdist.extractfile(f"ganga_monitoring-{VERSION}/PKG-INFO").read().decode()  # type: ignore[union-attr]
    assert f"ganga_monitoring-{VERSION}/src/{PACKAGE}/py.typed" in names
    assert "License-Expression: GPL-3.0-or-later" in pkg_info.splitlines()


def test_the_wheel_holds_every_file_of_the_package(built: Built) -> None:
    source = built.tree / "src"
    wanted = sorted(path.relative_to(source).as_posix() for path in (source / PACKAGE).rglob("*") if path.is_file())
    assert f"{PACKAGE}/py.typed" in wanted and any(name.startswith(f"{PACKAGE}/simulator/fakedirac/DIRAC/")
                                                   for name in wanted)
    with zipfile.ZipFile(built.wheel) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(f"ganga_monitoring-{VERSION}.dist-info/METADATA").decode()
        entry_points = wheel.read(f"ganga_monitoring-{VERSION}.dist-info/entry_points.txt").decode()
    assert sorted(name for name in names if name.startswith(f"{PACKAGE}/")) == wanted
    assert {"Name: ganga-monitoring", f"Version: {VERSION}", "License-Expression: GPL-3.0-or-later",
            "Requires-Dist: ganga==8.7.12"} <= set(metadata.splitlines())
    assert "ganga-monitoring = GangaMonitoring.cli:main" in entry_points


def test_the_installed_wheel_has_its_files_and_its_command_runs(installed: Installed) -> None:
    package = installed.site_packages / PACKAGE
    assert (package / "py.typed").is_file()
    assert (package / "simulator" / "fakedirac" / "DIRAC" / "__init__.py").is_file()
    record = (installed.site_packages / f"ganga_monitoring-{VERSION}.dist-info" / "RECORD").read_text()
    assert f"{PACKAGE}/py.typed," in record
    command = installed.venv / "bin" / "ganga-monitoring"
    assert command.read_text().startswith(f"#!{installed.python}\n")
    run = subprocess.run([str(command), "--help"], capture_output=True, text=True, timeout=120,
                         env=clean_env(), cwd=installed.venv, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "usage: ganga-monitoring" in run.stdout and run.stderr == "", run.stdout + run.stderr


def test_ganga_from_the_new_environment_runs_the_installed_package(installed: Installed, tmp_path: Path) -> None:
    home = tmp_path / "home"  # a fresh HOME, no first-run wizard: Ganga's version is known
    (home / ".cache" / "Ganga").mkdir(parents=True)
    (home / ".cache" / "Ganga" / ".used_versions").write_text("8.7.12\n")
    (home / ".gangarc").write_text(f"# Ganga configuration file ($Name: 8.7.12 $)\n"
                                   f"[Configuration]\ngangadir = {home / 'gangadir'}\n")
    script = home / "script.py"
    script.write_text(SCRIPT)
    enabled = "-o[Configuration]RUNTIME_PATH=GangaTest:GangaMonitoring"
    run = subprocess.run([str(installed.venv / "bin" / "ganga"), enabled, str(script)], capture_output=True,
                         text=True, timeout=300, cwd=home, env=clean_env(HOME=str(home)), stdin=subprocess.DEVNULL)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    assert [line for line in output.splitlines() if "WARNING" in line or "ERROR" in line] == [], output[-5000:]

    imported = Path(re.search(r"^FILE (.+)$", output, re.M).group(1))  # type: ignore[union-attr]
    assert imported.resolve() == (installed.site_packages / PACKAGE / "__init__.py").resolve(), output[-3000:]
    assert not imported.resolve().is_relative_to(ROOT / "src")
    assert f"VERSION {VERSION} {VERSION}" in output
    assert "COMPONENT MonitoringComponent" in output
    assert "Ganga user threads" in output  # Ganga's own part of queues
    assert "GangaMonitoring: enabled" in output and "Backends:" in output, output[-3000:]  # then ours
