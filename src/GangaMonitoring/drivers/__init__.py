"""Drivers: how each backend family is monitored.

``compat`` serves any backend through Ganga's stock entry point; the native
drivers named in :data:`NATIVE_DRIVERS` split monitoring into scheduled
operations (see ``base``).
"""

from __future__ import annotations

import importlib

from .base import NativeDriver

NATIVE_DRIVERS: dict[str, str] = {
    "SimGrid": "GangaMonitoring.drivers.simgrid:SimGridDriver",
    "Slurm": "GangaMonitoring.drivers.slurm:SlurmDriver",
    "Local": "GangaMonitoring.drivers.local:LocalDriver",
    "Dirac": "GangaMonitoring.drivers.dirac:DiracDriver",
}
"""Backend plugin name -> "module:class" of its native driver (imported on first use)."""


def make_native_driver(backend: str) -> NativeDriver | None:
    """A new native driver for ``backend``, or None if it has none."""
    target = NATIVE_DRIVERS.get(backend)
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)()
