"""The stock driver: any backend, through ``master_updateMonitoringInformation``.

A backend without a native driver is polled exactly as Ganga's stock
monitoring polls it: ``IBackend.master_updateMonitoringInformation(jobs)``
with the backend's top-level jobs.  What the nested
``run_monitoring_task`` calls it makes turn into is the component's
business (update operations, ``runtime/fanout.py``), not this driver's.
"""

from __future__ import annotations

from typing import Any

from GangaCore.GPIDev.Adapters.IBackend import IBackend
from GangaCore.GPIDev.Base.Proxy import stripProxy


class StockDriver:
    """Polls a set of top-level jobs of one backend through the stock entry point."""

    @staticmethod
    def backend_class(job: Any) -> Any:
        return type(stripProxy(stripProxy(job).backend))

    def poll(self, jobs: list[Any]) -> Any:
        """Poll ``jobs`` (all of one backend); returns the backend class used."""
        if not jobs:
            return None
        backend_class = self.backend_class(jobs[0])
        backend_class.master_updateMonitoringInformation(jobs)
        return backend_class

    @staticmethod
    def chunkable(backend_class: Any) -> bool:
        """Does the backend use Ganga's own ``master_updateMonitoringInformation``?

        That one hands each master's monitorable subjobs (and the backend's
        unsplit jobs) to ``updateMonitoringInformation``, which must then
        take any subset of them: those calls may be split into chunks.  A
        backend with its own may rely on what each call holds: its calls
        are kept whole.
        """
        return backend_class.master_updateMonitoringInformation is IBackend.master_updateMonitoringInformation

    @staticmethod
    def tear_down(backend_class: Any) -> bool:
        """Release what a backend holds for monitoring (Dirac: its process)."""
        try:
            backend_class.tear_down_monitoring()
        except NotImplementedError:
            return False
        return True
