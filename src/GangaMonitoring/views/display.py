"""A job slice's display settings, evaluated once per value of the options they come from.

Ganga's ``JobRegistrySlice.__init__`` reads the ``[Display]`` options of the
``jobs`` listing and ``eval``\\ s two of them (the column functions and the
status colours) on every construction, and Ganga's registry builds one such
slice for every index entry it computes (``JobRegistry.getIndexCache``), so
for every subjob of every flushed master: the evals were half of the cost of
an index entry.  :class:`SliceTemplates` keeps the state a construction
leaves, per value of those options, and gives a new slice a copy of it.

Contract: a slice made from a template has the attributes a construction
would give it, each equal (the evaluated functions are the ones evaluated
for that value of the options), its own ``objects`` (empty) and ``name``,
and its own copy of every dict and list; a changed option (at the prompt,
``config.Display.jobs_columns = ...``) is a new key, so the next slice is
constructed afresh and the template kept for that value.  Options that
cannot be read make the slice be constructed as Ganga does.
"""

from __future__ import annotations

import copy
import threading
from typing import Any
from collections.abc import Callable

OPTIONS = ("jobs_columns", "jobs_columns_show_empty", "jobs_columns_width", "jobs_columns_functions",
           "jobs_status_colours")
"""The ``[Display]`` options a job slice's construction reads."""
OWN = ("objects", "name")
"""Attributes each slice has for itself: never taken from a template."""
MAX_TEMPLATES = 16
"""Distinct option values kept at once (the oldest goes first): a session changes them rarely."""


class SliceTemplates:
    """Per value of :data:`OPTIONS`, the state a ``JobRegistrySlice`` construction leaves (thread-safe)."""

    def __init__(self, read_option: Callable[[str], Any]) -> None:
        self._read = read_option
        self._templates: dict[str, tuple[dict[str, Any], type]] = {}
        """key -> (the state a construction left, less :data:`OWN`; the type of its ``objects``)."""
        self._lock = threading.Lock()
        self.built = 0
        """Slices constructed by Ganga's own ``__init__`` (the others were copied)."""
        self.copied = 0

    def key(self) -> str | None:
        """The current value of the options, as a key; None when one cannot be read."""
        try:
            return repr(tuple(self._read(option) for option in OPTIONS))
        except Exception:  # noqa: BLE001 - Ganga's construction reports a bad option its own way
            return None

    def init(self, construct: Callable[[Any, str], None], slice_: Any, name: str) -> None:
        """Make ``slice_`` as ``construct(slice_, name)`` would, from a template when there is one."""
        key = self.key()
        with self._lock:
            template = None if key is None else self._templates.get(key)
        if template is None:
            construct(slice_, name)
            self.built += 1
            if key is not None:
                state = {k: _unshared(v) for k, v in vars(slice_).items() if k not in OWN}
                with self._lock:
                    if len(self._templates) >= MAX_TEMPLATES:
                        del self._templates[next(iter(self._templates))]
                    self._templates[key] = (state, type(slice_.objects))
            return
        state, objects_type = template
        for attribute, value in state.items():
            setattr(slice_, attribute, _unshared(value))
        slice_.objects = objects_type()
        slice_.name = name
        self.copied += 1

    def __len__(self) -> int:
        return len(self._templates)

    def __repr__(self) -> str:
        return f"<SliceTemplates {len(self)} kept, built={self.built} copied={self.copied}>"


def _unshared(value: Any) -> Any:
    """A copy of a dict or a list, so that no two slices (nor a slice and a template) share one."""
    return copy.copy(value) if isinstance(value, (dict, list)) else value
