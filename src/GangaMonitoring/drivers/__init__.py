"""Drivers: how each backend family is monitored.

``compat`` serves any backend through Ganga's stock entry point; a native
driver splits monitoring into scheduled operations (see ``base`` and
``docs/drivers.md``).  A backend's native driver is the one named in
:data:`NATIVE_DRIVERS`, else the one another installed package registers under
the entry point group :data:`ENTRY_POINT_GROUP` with the backend's plugin name
(``[project.entry-points."ganga_monitoring.drivers"] MyBackend =
"mypackage.monitoring:MyDriver"``); this package's own come first.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging

from .base import NativeDriver

ENTRY_POINT_GROUP = "ganga_monitoring.drivers"

log = logging.getLogger("GangaMonitoring.drivers")

NATIVE_DRIVERS: dict[str, str] = {
    "SimGrid": "GangaMonitoring.drivers.simgrid:SimGridDriver",
    "Slurm": "GangaMonitoring.drivers.slurm:SlurmDriver",
    "Local": "GangaMonitoring.drivers.local:LocalDriver",
    "Dirac": "GangaMonitoring.drivers.dirac:DiracDriver",
}
"""Backend plugin name -> "module:class" of its native driver (imported on first use)."""


def registered_drivers() -> dict[str, str]:
    """Backend plugin name -> "module:class" of every native driver other packages register."""
    found: dict[str, str] = {}
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in found and found[entry.name] != entry.value:
            log.warning("two packages register a native driver for %s (%s, %s): the first is used",
                        entry.name, found[entry.name], entry.value)
            continue
        found.setdefault(entry.name, entry.value)
    return found


def has_native_driver(backend: str) -> bool:
    """Is a native driver named for ``backend`` (built in, or registered by another package)?"""
    return backend in NATIVE_DRIVERS or backend in registered_drivers()


def make_native_driver(backend: str) -> NativeDriver | None:
    """A new native driver for ``backend``, or None if it has none (it is then monitored as stock does).

    A registered driver that cannot be loaded, or is not a :class:`NativeDriver`
    for ``backend``, is logged and not used.
    """
    target = NATIVE_DRIVERS.get(backend) or registered_drivers().get(backend)
    if target is None:
        return None
    module, _, name = target.partition(":")
    try:
        driver = getattr(importlib.import_module(module), name)()
    except Exception as err:  # noqa: BLE001 - another package's code: its failure must not stop monitoring
        log.error("the native driver %s for %s could not be loaded (%s: %s); %s is monitored through "
                  "Ganga's own update", target, backend, type(err).__name__, err, backend)
        return None
    if not isinstance(driver, NativeDriver) or getattr(driver, "backend", None) != backend:
        log.error("%s is not a NativeDriver for %s; %s is monitored through Ganga's own update",
                  target, backend, backend)
        return None
    return driver
