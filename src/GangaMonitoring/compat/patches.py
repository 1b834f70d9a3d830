"""The one place where Ganga classes are patched; every patch is undone by :func:`remove`.

1. ``MonitoringService.AsyncMonitoringService`` is replaced by our
   component class.  ``GangaCore.Core.bootstrap`` imports it inside the
   function, so the swap must happen before bootstrap: the runtime
   package's ``standardSetup()`` calls :func:`apply` on every Ganga start.
2. ``Job.status`` (a Ganga ``Descriptor``) is wrapped so that every status
   change of a top-level job is reported to our active-job index.  Ganga
   offers no status-change hook, and without one the only alternative is
   the stock full-registry scan this package exists to remove.

:func:`remove` runs when the component stops (Ganga never calls a runtime
package's ``shutdown()``) and at interpreter exit.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Any
from collections.abc import Callable

StatusListener = Callable[[Any, str], None]

log = logging.getLogger("GangaMonitoring.patches")

_lock = threading.RLock()
_originals: dict[str, Any] = {}
_status_listeners: list[StatusListener] = []


class StatusWatch:
    """Wraps Job's ``status`` descriptor; tells listeners after each change.

    Only the ``__set__`` path is extended: reading a status is untouched.
    The listener runs in the thread that changed the status, while Ganga
    holds the job's lock, so listeners must be quick and must not take a
    job lock themselves (the index only takes its own lock).
    """

    def __init__(self, original: Any) -> None:
        self.original = original

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        return self.original.__get__(obj, cls)

    def __set__(self, obj: Any, value: Any) -> None:
        self.original.__set__(obj, value)
        if _status_listeners and obj._getParent() is None:
            status = obj._data.get("status")
            for listener in list(_status_listeners):
                try:
                    listener(obj, status)
                except Exception:  # a listener bug must never break Ganga's state change
                    log.exception("status listener %r failed", listener)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


def apply(component_class: type) -> None:
    """Install both patches (idempotent)."""
    from GangaCore.Core.MonitoringComponent import MonitoringService
    from GangaCore.GPIDev.Lib.Job.Job import Job

    with _lock:
        if "AsyncMonitoringService" not in _originals:
            _originals["AsyncMonitoringService"] = MonitoringService.AsyncMonitoringService
        MonitoringService.AsyncMonitoringService = component_class
        current = Job.__dict__["status"]
        if not isinstance(current, StatusWatch):
            _originals["Job.status"] = current
            setattr(Job, "status", StatusWatch(current))


def remove() -> None:
    """Undo both patches (idempotent)."""
    from GangaCore.Core.MonitoringComponent import MonitoringService
    from GangaCore.GPIDev.Lib.Job.Job import Job

    with _lock:
        original_class = _originals.pop("AsyncMonitoringService", None)
        if original_class is not None:
            MonitoringService.AsyncMonitoringService = original_class
        original_status = _originals.pop("Job.status", None)
        if original_status is not None and isinstance(Job.__dict__.get("status"), StatusWatch):
            setattr(Job, "status", original_status)
        _status_listeners.clear()


def is_applied() -> bool:
    with _lock:
        return bool(_originals)


def add_status_listener(listener: StatusListener) -> None:
    with _lock:
        if listener not in _status_listeners:
            _status_listeners.append(listener)


def remove_status_listener(listener: StatusListener) -> None:
    with _lock:
        if listener in _status_listeners:
            _status_listeners.remove(listener)


atexit.register(remove)
