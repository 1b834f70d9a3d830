"""The asyncio loop that Ganga code reaches as ``monitoring_component.loop``.

Dirac's and GangaTest's backends call ``monitoring_component.loop.create_task``
from the loop's own thread and, in ``finalise_jobs``, from the user's
thread.  ``asyncio``'s ``create_task`` is not thread-safe: from a foreign
thread the task is queued but nothing wakes the loop.  This loop routes
foreign-thread calls through ``run_coroutine_threadsafe`` (and returns its
``concurrent.futures.Future``), so both call sites work.
"""

from __future__ import annotations

import asyncio
import threading
import traceback
from typing import Any
from collections.abc import Coroutine

from GangaCore.Utility.logging import getLogger

log = getLogger("GangaMonitoring.loop")


class ThreadSafeEventLoop(asyncio.SelectorEventLoop):
    """A selector loop whose ``create_task`` also works from other threads."""

    def create_task(self, coro: Coroutine[Any, Any, Any], **kwargs: Any) -> Any:  # type: ignore[override]
        owner = getattr(self, "_thread_id", None)  # set while the loop runs
        if owner is not None and owner != threading.get_ident():
            return asyncio.run_coroutine_threadsafe(coro, self)
        return super().create_task(coro, **kwargs)


async def log_exceptions(awaitable: Any) -> Any:
    """Await and log (not raise) a failure: a loop task has nobody to raise to."""
    try:
        return await awaitable
    except asyncio.CancelledError:
        raise
    except Exception:
        log.warning("monitoring task failed:\n%s", traceback.format_exc())
        return None


def cancel_and_close(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is still scheduled on a stopped loop, let it unwind, and close it."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
