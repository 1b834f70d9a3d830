"""Item 3: Ganga's ``queues`` object is of our class.

What: ``ThreadPoolQueueMonitor`` (the class of Ganga's ``queues`` object, built
by ``startUpQueues`` after the runtime packages' setup) is replaced by
``views.queues.MonitoringQueues``.

Why: stock ``queues`` shows Ganga's own thread pools only; what monitoring
does (its work waiting and running, held backends, why a job is or is not
worked on) had nowhere to be seen at the prompt.

Contract: ``MonitoringQueues`` is a subclass that keeps every stock method
(``add``, ``addProcess``, ``purge``, the shutdown behaviour) and adds
monitoring's display, ``snapshot()``, ``why(job)``, ``retry(job)`` and
``watch()``.  ``views.queues`` (which imports Ganga) is imported when this
is installed, not at this module's import; it reaches the component through
``integration.current``, never the component's module, which imports this package.

Undone by: remove() restores Ganga's class (the ledger); a ``queues`` object
already built stays of ours.
"""

from __future__ import annotations

from .ledger import _lock, _wrap


def swap_queues() -> None:
    """Install item 3 (idempotent; undone by remove)."""
    from GangaCore.Core.GangaThread.WorkerThreads import ThreadPoolQueueMonitor as queues_module

    from ..views.queues import MonitoringQueues

    with _lock:
        _wrap(queues_module, "ThreadPoolQueueMonitor", lambda _stock: MonitoringQueues)
