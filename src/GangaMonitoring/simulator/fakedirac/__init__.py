"""A simulated DIRAC client installation, so Ganga's real Dirac backend runs against the local grid simulator.

``install(root, server_url)`` lays out a directory the way a DIRAC UI
installation looks to GangaDirac::

    root/lib/pythonX.Y/site-packages/DIRAC/   the client API (the ``DIRAC`` package beside this file)
    root/bin/dirac-proxy-init, dirac-proxy-info
    root/etc/simgrid.json                     which simulator answers (rewritable: ``point_at``)
    root/diracenv.json                        the environment, for ``[DIRAC]DiracEnvJSON``

GangaDirac then runs unchanged: its DIRAC executor processes put
``DIRACOS``'s site-packages on their path (as for a real DIRACOS), its
submission server runs ``python`` from ``PATH`` with ``PYTHONPATH`` set, and
its proxy credential calls the two commands.  Nothing of it is installed
into the Python environment, so no ``DIRAC`` package shadows a real one.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .proxy import write_proxy

PACKAGE_DIR = Path(__file__).resolve().parent / "DIRAC"
CONFIG_VARIABLE = "GANGAMON_FAKE_DIRAC_CONFIG"
DEFAULT_GROUP = "simgrid_user"


@dataclass(frozen=True)
class FakeDirac:
    root: Path
    env_json: Path
    config_file: Path

    @property
    def site_packages(self) -> Path:
        return self.root / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"

    def point_at(self, server_url: str, sites: dict[str, str] | None = None, timeout: float = 10.0,
                 lost_sandboxes: bool = False) -> None:
        """Make every process of this installation talk to these simulators from its next call on.

        ``server_url`` serves the default site; ``sites`` maps more site names
        to simulators (a job picks one with ``Dirac(settings={'Destination': name})``).
        ``lost_sandboxes`` makes every sandbox download fail.
        """
        partial = self.config_file.with_suffix(".part")
        partial.write_text(json.dumps({"server": server_url, "sites": sites or {}, "timeout": timeout,
                                       "lost_sandboxes": lost_sandboxes}))
        os.replace(partial, self.config_file)

    def ganga_options(self, group: str = DEFAULT_GROUP) -> list[tuple[str, str, Any]]:
        """Ganga options that select this installation (and a proxy group, which GangaDirac insists on)."""
        return [("DIRAC", "DiracEnvJSON", str(self.env_json)),
                ("defaults_DiracProxy", "group", group),
                ("DIRAC", "RequireDefaultSE", False)]


def proxy_location(group: str = DEFAULT_GROUP) -> str:
    """Where Ganga's DiracProxy looks for the proxy of ``group`` (its default naming)."""
    base = os.environ.get("X509_USER_PROXY") or f"/tmp/x509up_u{os.getuid()}"
    return f"{base}:{group}"


def make_proxy(group: str = DEFAULT_GROUP, seconds: float = 24 * 3600) -> str:
    """Write a valid (or, with a negative ``seconds``, expired) proxy where Ganga looks for it."""
    path = proxy_location(group)
    write_proxy(path, group, seconds)
    return path


def installed(root: str | os.PathLike[str]) -> FakeDirac:
    """The installation :func:`install` made under ``root``."""
    root = Path(root).resolve()
    return FakeDirac(root=root, env_json=root / "diracenv.json", config_file=root / "etc" / "simgrid.json")


def install(root: str | os.PathLike[str], server_url: str) -> FakeDirac:
    """Lay out a simulated DIRAC installation under ``root`` (replacing an earlier one there)."""
    fake = installed(root)
    root = fake.root
    target = fake.site_packages / "DIRAC"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(PACKAGE_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    _write_commands(root / "bin")
    fake.config_file.parent.mkdir(parents=True, exist_ok=True)
    fake.point_at(server_url)
    env = {
        "DIRAC": str(root),
        "DIRACOS": str(root),
        "PATH": os.pathsep.join([str(root / "bin"), os.path.dirname(sys.executable), "/usr/bin", "/bin"]),
        "PYTHONPATH": str(fake.site_packages),
        "HOME": os.environ.get("HOME", str(root)),
        CONFIG_VARIABLE: str(fake.config_file),
    }
    fake.env_json.write_text(json.dumps(env, indent=1))
    return fake


def _write_commands(bin_dir: Path) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, command in (("dirac-proxy-init", "init"), ("dirac-proxy-info", "info")):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m GangaMonitoring.simulator.fakedirac.proxy '
                          f'{command} "$@"\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
