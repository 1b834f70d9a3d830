"""Item 15: job slices are made from templates, not from the ``[Display]`` options evaluated anew.

What: ``JobRegistrySlice.__init__`` makes a slice from the state the first
construction left for the same option values (``views/display.py``,
``SliceTemplates``, kept in :data:`SLICE_TEMPLATES` once installed).

Why: Ganga's ``JobRegistrySlice.__init__`` reads the ``[Display]`` options of
the ``jobs`` listing and evaluates two of them with ``eval`` (column
functions, status colours) each time, and ``JobRegistry.getIndexCache``
builds one such slice for every index entry, so for every subjob of every
flushed master: half of an entry's cost, 6 % of the GIL in a
compatibility-path burst.

Contract: a slice is the same as one Ganga builds for those option values; a
changed option builds afresh.  :func:`slices_from_templates` installs it
when the component starts.

Undone by: remove() restores Ganga's ``__init__`` (the ledger);
:data:`SLICE_TEMPLATES` stays as the last install left it (its counters).
"""

from __future__ import annotations

import functools
from typing import Any

from ..views import display
from .ledger import _lock, _wrap

SLICE_TEMPLATES: display.SliceTemplates | None = None
"""Item 15's templates of job slices (its counters show how many were copied); set when installed."""


def slices_from_templates() -> None:
    """Install item 15 (idempotent; undone by remove)."""
    from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice

    global SLICE_TEMPLATES
    with _lock:
        if getattr(vars(JobRegistrySlice)["__init__"], "__gm_wrapped__", False):
            return
        SLICE_TEMPLATES = _templates_of_display()
        _wrap(JobRegistrySlice, "__init__", _made_from_templates)


def _templates_of_display() -> display.SliceTemplates:
    """Templates of the ``[Display]`` options as Ganga's config has them now (read at each slice)."""
    from GangaCore.Utility.Config import getConfig

    display_config = getConfig("Display")
    return display.SliceTemplates(lambda option: display_config[option])


def _made_from_templates(construct: Any) -> Any:
    """``JobRegistrySlice.__init__`` made from :data:`SLICE_TEMPLATES` (set before it is installed)."""
    templates = SLICE_TEMPLATES
    assert templates is not None

    @functools.wraps(construct)
    def __init__(self: Any, name: str) -> None:  # noqa: N807 - the constructor it stands in for
        templates.init(construct, self, name)

    __init__.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return __init__
