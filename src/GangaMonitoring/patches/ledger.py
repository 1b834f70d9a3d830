"""The ledger of patches: every replacement of a Ganga (or CPython) name is recorded here, undone newest first.

Each patch module installs through :func:`_wrap` with :data:`_lock` held and
never sets a name of Ganga's any other way, so that :func:`undo_all` (called by
the package's ``remove()``) puts back exactly what was there: the entry keeps
the object the name had, or :data:`_ABSENT` when the owner had no name of its
own (a module that used the builtin ``open``), and the name is deleted again.

Invariants: one entry per (owner, name); a wrapper marks itself
``__gm_wrapped__`` so that a second install finds it and does nothing; entries
are undone in the reverse order of their making (a wrapper of a wrapper comes
off first).
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from collections.abc import Callable

log = logging.getLogger("GangaMonitoring.patches")
"""The one logger of every patch module (tests and users set its level by this name)."""

_lock = threading.RLock()
"""Held by every install and by remove(): one patch module at a time changes the ledger."""

_wrapped_actions: list[tuple[Any, str, Any]] = []
"""The ledger: (class or module, name, what it was) for every patch installed, undone newest first."""


def _wrap(owner: Any, name: str, make: Callable[[Any], Any], shadowed: Any = None) -> None:
    """Replace ``owner.name`` (a class's or a module's own) by ``make(current)``, recorded for remove().

    A name ``owner`` does not have of its own (a module using the builtin
    ``open``) is given one, ``make(shadowed)``, and deleted again at remove.
    Idempotent: a function already wrapped (``__gm_wrapped__``), or a name already in the ledger, is
    left.  Call with ``_lock`` held.
    """
    current = vars(owner).get(name, _ABSENT) if shadowed is not None else vars(owner)[name]
    if getattr(current, "__gm_wrapped__", False) or _is_wrapped(owner, name):
        return
    _wrapped_actions.append((owner, name, current))
    setattr(owner, name, make(shadowed if current is _ABSENT else current))


def _is_wrapped(owner: Any, name: str) -> bool:
    """Is ``owner.name`` in the ledger?  Call with ``_lock`` held."""
    return any(wrapped is owner and wrapped_name == name for wrapped, wrapped_name, _ in _wrapped_actions)


def _unwrap(owner: Any, name: str) -> None:
    """Undo ``owner.name``'s entry of the ledger alone, if it has one.  Call with ``_lock`` held."""
    for index in range(len(_wrapped_actions) - 1, -1, -1):
        wrapped, wrapped_name, original = _wrapped_actions[index]
        if wrapped is owner and wrapped_name == name:
            del _wrapped_actions[index]
            _restore(owner, name, original)
            return


_ABSENT = object()
"""In the ledger: the name was not the owner's own before it was wrapped."""


def _restore(owner: Any, name: str, original: Any) -> None:
    if original is _ABSENT:
        delattr(owner, name)
    else:
        setattr(owner, name, original)


_joined: list[tuple[list[Any], Any]] = []
"""(a hook list of Ganga's, the callable joined to it), for every hook joined; taken off by undo_all."""


def _join(hooks: list[Any], hook: Any) -> None:
    """Add ``hook`` to ``hooks``, a list of callables that a Ganga edit declares, taken off by undo_all.

    Not a patch: no name of Ganga's is replaced, so it is not an entry of the ledger (the upstream
    series' edits declare such lists, e.g. ``safe_save.before_subjob_save``; stock 8.7.12 has none).
    Idempotent.  Call with ``_lock`` held.
    """
    if hook not in hooks:
        hooks.append(hook)
        _joined.append((hooks, hook))


def undo_all() -> None:
    """Undo every entry of the ledger, newest first, and take off every hook joined.  Call with ``_lock``
    held."""
    while _wrapped_actions:
        _restore(*_wrapped_actions.pop())
    while _joined:
        hooks, hook = _joined.pop()
        if hook in hooks:
            hooks.remove(hook)


def has_entry(name: str) -> bool:
    """Is some owner's ``name`` in the ledger?  Call with ``_lock`` held."""
    return any(wrapped_name == name for _owner, wrapped_name, _original in _wrapped_actions)
