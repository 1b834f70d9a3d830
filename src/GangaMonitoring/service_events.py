"""Errors a backend's client retried on its own, reported to monitoring so that ``queues`` shows them.

A client that retries a request itself (``tenacity`` inside the SimGrid
client, a DIRAC client's own retries) hides a flaky service from the
operation that called it: the poll succeeds, and without a report here the
user reads "no failures" while one request in twenty fails.  Clients, drivers
and backends (ours or a third party's) call :func:`retried` for each retry;
the monitoring component counts them per backend over the last minutes.

Cheap and safe from any thread: with no listener (stock monitoring, tests of
a client alone) a report does nothing; a listener that raises is logged and
never reaches the client.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

Listener = Callable[[str, str], None]
"""``listener(backend, error)``: one request of ``backend`` failed with ``error`` and will be retried."""

log = logging.getLogger("GangaMonitoring.service_events")
_lock = threading.Lock()
_listeners: list[Listener] = []


def retried(backend: str, error: BaseException | str) -> None:
    """Report that a request to ``backend``'s service failed with ``error`` and is being retried."""
    with _lock:
        listeners = list(_listeners)
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    for listener in listeners:
        try:
            listener(backend, text)
        except Exception:  # noqa: BLE001 - a report must never fail the client's request
            log.exception("a listener of service retries failed")


def subscribe(listener: Listener) -> None:
    with _lock:
        _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)
