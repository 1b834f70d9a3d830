"""Where the simulated DIRAC finds its grid: a small JSON file named by ``GANGAMON_FAKE_DIRAC_CONFIG``.

The file names one simulator for the default site and, optionally, more
sites, each its own simulator (``{"server": url, "sites": {"name": url}}``);
a job goes to the site its description names (``setDestination``, i.e. the
backend's ``settings['Destination']``).  DIRAC ids stay unique across
sites: the site's position times :data:`SITE_ID_SPAN` plus the simulator's id
(and across simulator restarts, as the simulator's ids are).

The file is read again whenever it is replaced, so a test can point every
DIRAC process it has started (Ganga caches the DIRAC environment for the
whole session) at other simulators by rewriting it.  ``"lost_sandboxes":
true`` makes every sandbox download fail, as when a sandbox store has lost them.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any

from GangaMonitoring.simulator.client import SimGridClient

CONFIG_VARIABLE = "GANGAMON_FAKE_DIRAC_CONFIG"
SITE_ID_SPAN = 2 ** 58
"""Above every simulator id (``model.run_first_id``: below 2**58 until 2107); 31 sites stay below 2**63."""
DEFAULT_SITE = "SimGrid.local.sim"


@dataclass(frozen=True)
class Grid:
    sites: list[tuple[str, SimGridClient]]
    """(site name, client); position 0 is the default site."""
    settings: dict[str, Any]

    def for_site(self, name: str | None) -> tuple[int, SimGridClient]:
        for number, (site, client) in enumerate(self.sites):
            if site == name:
                return number, client
        if name in (None, "", "ANY"):
            return 0, self.sites[0][1]
        raise ValueError(f"the simulated DIRAC has no site {name!r} (it has {[s for s, _ in self.sites]})")

    def for_job(self, job_id: int) -> tuple[str, SimGridClient, int]:
        """(site, client, simulator id) of a DIRAC job id."""
        number, local_id = divmod(int(job_id), SITE_ID_SPAN)
        if number >= len(self.sites):
            raise KeyError(f"no such DIRAC job {job_id}")
        site, client = self.sites[number]
        return site, client, local_id


_lock = threading.Lock()
_cached: dict[str, Any] = {"version": None, "grid": None}


def grid() -> Grid:
    """The grid the configuration file describes (one per process and file version)."""
    path = os.environ.get(CONFIG_VARIABLE)
    if not path:
        raise RuntimeError(f"{CONFIG_VARIABLE} is not set: this DIRAC environment was not made by fakedirac.install")
    found = os.stat(path)
    version = (found.st_ino, found.st_mtime_ns)  # point_at replaces the file: a new inode each time
    with _lock:
        if _cached["version"] != version:
            with open(path, encoding="utf-8") as handle:
                settings = json.load(handle)
            timeout = float(settings.get("timeout", 10.0))
            sites = [(DEFAULT_SITE, settings["server"]), *settings.get("sites", {}).items()]
            _cached["grid"] = Grid([(name, SimGridClient(url, timeout=timeout)) for name, url in sites], settings)
            _cached["version"] = version
        return _cached["grid"]
