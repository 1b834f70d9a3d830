"""``queues`` at the Ganga prompt: Ganga's own queues, plus what monitoring is doing.

Ganga builds its ``queues`` object from the class named
``ThreadPoolQueueMonitor`` when it starts (``startUpQueues``); ``patches``
swaps in :class:`MonitoringQueues`, which keeps every stock method
(``add``, ``addProcess``, ``purge``, the shutdown behaviour) and adds:

- the monitoring section of the display (``queues`` at the prompt, ``str(queues)``);
- ``queues.snapshot()``: the same as plain data (a dict), for scripts and tests;
- ``queues.why(job)``: why a job is, or is not, being worked on;
- ``queues.retry(job)``: try again to get the output of a job that failed for want of it;
- ``queues.watch()``: the monitoring display, refreshed in place until Ctrl-C.
"""

from __future__ import annotations

import sys
from typing import Any

from GangaCore.Core.GangaThread.WorkerThreads.ThreadPoolQueueMonitor import ThreadPoolQueueMonitor
from GangaCore.GPIDev.Base.Proxy import stripProxy

from .. import introspect


def _our_component() -> Any | None:
    from GangaCore.Core import monitoring_component

    from .component import MonitoringComponent

    return monitoring_component if isinstance(monitoring_component, MonitoringComponent) else None


class MonitoringQueues(ThreadPoolQueueMonitor):
    """Ganga's queues, showing GangaMonitoring's pools, queues and backends too."""

    def snapshot(self) -> dict[str, Any]:
        """What monitoring is doing now, as a JSON-serialisable dict ({} if it is not running)."""
        component = _our_component()
        return introspect.take_snapshot(component).as_dict() if component is not None else {}

    def why(self, job: Any) -> str:
        """Why ``job`` (a job, or its id) is or is not being monitored, and what waits for it."""
        component = _our_component()
        if component is None:
            return "GangaMonitoring is not the active monitoring component"
        raw = stripProxy(job)
        job_id = raw if isinstance(raw, int) else (raw.master.id if raw.master is not None else raw.id)
        return introspect.explain_job(component, job_id)

    def retry(self, job: Any = None) -> list[str]:
        """Try again to get the output of ``job`` (or of every job) that failed for want of it."""
        component = _our_component()
        if component is None:
            return []
        retried: list[str] = component.retry_output(job)
        print(f"retrying the output of {len(retried)} job(s)" + (f": {', '.join(retried[:10])}" if retried else ""))
        return retried

    def watch(self, interval: float = 2.0, count: int | None = None, stream: Any = None) -> None:
        """Show the monitoring display, refreshed in place every ``interval`` s, until Ctrl-C.

        ``count`` stops after that many refreshes (for scripts); ``stream`` defaults to stdout.
        """
        component = _our_component()
        if component is None:
            print("GangaMonitoring is not the active monitoring component", file=stream or sys.stdout)
            return
        introspect.watch(component, interval, count, stream or sys.stdout)

    def _display(self) -> str:
        stock = super()._display()
        component = _our_component()
        if component is None:
            return stock
        return stock + "\n\n" + introspect.render(introspect.take_snapshot(component))

    def __str__(self) -> str:
        return self._display()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """``queues`` typed at the IPython prompt shows the whole display."""
        printer.text("queues" if cycle else self._display())
