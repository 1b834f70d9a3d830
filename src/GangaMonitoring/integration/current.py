"""The monitoring component this package installed, as Ganga runs it now.

``queues``, the prompt and the status command ask for the running component;
they must not import the component's module (which imports ``patches``, which
installs ``queues``).  :func:`patches.apply` names the component class here when
it installs it; :func:`component` answers with Ganga's own monitoring component
when it is of that class.
"""

from __future__ import annotations

from typing import Any

_component_class: type | None = None


def set_component_class(component_class: type | None) -> None:
    """The class ``patches.apply`` installed as Ganga's monitoring component (None: none any more)."""
    global _component_class
    _component_class = component_class


def component() -> Any | None:
    """Ganga's monitoring component if it is this package's, else None (stock monitoring, or not started)."""
    if _component_class is None:
        return None
    from GangaCore.Core import monitoring_component

    return monitoring_component if isinstance(monitoring_component, _component_class) else None
