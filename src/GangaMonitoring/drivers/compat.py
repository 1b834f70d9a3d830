"""The compatibility driver: any backend, through ``master_updateMonitoringInformation``.

A backend without a native driver is polled exactly as Ganga's stock
monitoring polls it (``IBackend.master_updateMonitoringInformation(jobs)``
with the backend's top-level jobs), with one difference: the nested
``run_monitoring_task`` calls it makes run *inline*, inside the poll
operation, instead of being scheduled and forgotten.  So a poll operation
ends when the backend's update really ended, its duration and failures are
known, and two polls of one backend never overlap.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable

from GangaCore.GPIDev.Base.Proxy import stripProxy

InlineContext = Callable[[], Any]


class CompatDriver:
    """Polls a set of top-level jobs of one backend through the stock entry point."""

    def __init__(self, inline_context: InlineContext) -> None:
        self._inline_context = inline_context

    @staticmethod
    def backend_class(job: Any) -> Any:
        return type(stripProxy(stripProxy(job).backend))

    def poll(self, jobs: list[Any]) -> Any:
        """Poll ``jobs`` (all of one backend); returns the backend class used."""
        if not jobs:
            return None
        backend_class = self.backend_class(jobs[0])
        with self._inline_context():
            backend_class.master_updateMonitoringInformation(jobs)
        return backend_class

    @staticmethod
    def tear_down(backend_class: Any) -> bool:
        """Release what a backend holds for monitoring (Dirac: its process)."""
        try:
            backend_class.tear_down_monitoring()
        except NotImplementedError:
            return False
        return True
