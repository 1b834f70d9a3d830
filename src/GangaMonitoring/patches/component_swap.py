"""Item 1: Ganga's monitoring component class is ours.

What: ``MonitoringService.AsyncMonitoringService`` (the class Ganga builds its
``monitoring_component`` from) is replaced by our component class, and
``integration.current`` is told which class that is.

Why: Ganga offers no way to plug in another monitoring component.
``GangaCore.Core.bootstrap`` imports the class inside the function, so a swap
made before bootstrap is the one it builds: the runtime package's
``standardSetup()`` calls the package's ``apply()`` on every Ganga start.

Contract: while the swap is in the ledger, ``is_applied()`` is true.

Undone by: remove() restores Ganga's class (the ledger).  ``integration.current``
keeps naming our class, which only answers for a component of that class.
"""

from __future__ import annotations

from ..integration import current
from .ledger import _lock, _wrap, has_entry

NAME = "AsyncMonitoringService"


def swap_component(component_class: type) -> None:
    """Install item 1 (idempotent; undone by remove)."""
    from GangaCore.Core.MonitoringComponent import MonitoringService

    with _lock:
        _wrap(MonitoringService, NAME, lambda _stock: component_class)
        current.set_component_class(component_class)


def is_swapped() -> bool:
    """Is our component class Ganga's (item 1 in the ledger)?"""
    with _lock:
        return has_entry(NAME)
