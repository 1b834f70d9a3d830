"""Item 2: every status change is told to our listeners (the status watch), and the registry of those listeners.

What: ``Job.status`` (a Ganga ``Descriptor``) is swapped for a watching copy,
a ``StatusWatch``, whose ``__set__`` also calls the listeners added here by
:func:`add_status_listener`: every status change of a top-level job reaches
our active-job index, and listeners added with ``subjobs=True`` hear of
subjobs' changes too (the component's
adaptive limits and masters' running time, item 17's counts).

Why: Ganga offers no status-change hook, and without one the only
alternative is the stock full-registry scan this package exists to remove.

Contract: the copy's class derives from the descriptor's own class, so
reading a status (Ganga does it constantly) runs exactly Ganga's code, with
no extra call; only setting it is extended.  A listener runs in the thread
that changed the status, *after* Ganga's setter has let the job's (root's)
lock go: another writer of the same job may have changed the status again
meanwhile, and two writers' listeners may run in either order or at once.
So the status a listener is given may be stale: a listener that keeps state
must re-read the job's status (idempotently), not apply the one given.  It
must be quick and must not take a job lock itself.  A listener that raises
is logged and never breaks Ganga's state change.

Undone by: remove() restores Ganga's descriptor (the ledger) and forgets
every listener (:func:`clear_status_listeners`).
"""

from __future__ import annotations

import copy
from typing import Any
from collections.abc import Callable

from .ledger import _lock, _wrap, log

StatusListener = Callable[[Any, str], None]

_status_listeners: list[StatusListener] = []
_any_status_listeners: list[StatusListener] = []
"""Told of subjobs' changes too (not only top-level jobs')."""


def _watching(original: Any) -> Any:
    """A copy of Job's ``status`` descriptor whose ``__set__`` also tells our listeners.

    The copy's class derives from the descriptor's own class, so reading a
    status (Ganga does it constantly) runs exactly Ganga's code, with no extra
    call; only setting it is extended.  The listeners run in the thread that
    changed the status after Ganga's setter let the job's lock go (the status
    they are given may be stale by then); they must be quick and must not
    take a job lock themselves.
    """
    base = type(original)

    def __set__(self: Any, obj: Any, value: Any, *args: Any) -> None:  # noqa: N807 - the descriptor protocol
        base.__set__(self, obj, value, *args)
        _tell_listeners(obj)

    watch_class = type("StatusWatch", (base,), {"__set__": __set__, "__module__": __name__, "__slots__": ()})
    watch = copy.copy(original)
    watch.__class__ = watch_class
    return watch


def _tell_listeners(job: Any) -> None:
    """Tell the listeners of ``job``'s status set just now (after Ganga's setter let the job's lock go)."""
    if not (_status_listeners or _any_status_listeners):
        return
    listeners = list(_any_status_listeners)
    if job._getParent() is None:
        listeners += _status_listeners
    if listeners:
        status = job._data.get("status")
        for listener in listeners:
            try:
                listener(job, status)
            except Exception:  # a listener bug must never break Ganga's state change
                log.exception("status listener %r failed", listener)


def _is_watch(descriptor: Any) -> bool:
    return type(descriptor).__name__ == "StatusWatch" and type(descriptor).__module__ == __name__


def watch_statuses() -> None:
    """Install item 2 (idempotent; undone by remove)."""
    from GangaCore.GPIDev.Lib.Job.Job import Job

    with _lock:
        if not _is_watch(Job.__dict__["status"]):
            _wrap(Job, "status", _watching)


def is_watched() -> bool:
    """Is ``Job.status`` our status watch (item 2 installed)?"""
    from GangaCore.GPIDev.Lib.Job.Job import Job

    return _is_watch(Job.__dict__.get("status"))


def add_status_listener(listener: StatusListener, subjobs: bool = False) -> None:
    """``listener(job, status)`` after each status change of a top-level job (``subjobs``: of any job)."""
    with _lock:
        listeners = _any_status_listeners if subjobs else _status_listeners
        if listener not in listeners:
            listeners.append(listener)


def remove_status_listener(listener: StatusListener) -> None:
    with _lock:
        for listeners in (_status_listeners, _any_status_listeners):
            if listener in listeners:
                listeners.remove(listener)


def clear_status_listeners() -> None:
    """Forget every status listener (remove())."""
    with _lock:
        _status_listeners.clear()
        _any_status_listeners.clear()
