"""Item 9: forcing a master's status forces its active subjobs too.

What: ``Job.force_status`` of a master job also forces its subjobs that are
still ``submitted``, ``running`` or ``completing`` to the same status.

Why: Ganga forced the master alone: no longer active, it was never polled
again, and its subjobs showed ``running`` for ever.

Contract: Ganga's ``force_status`` runs first, unchanged; subjobs are forced
only if the master now has the status asked for, each without updating the
master again.  A subjob Ganga's state graph refuses is logged and left; a
master whose subjobs cannot be read is logged and left.

Undone by: remove() restores the method (the ledger).  Installed with item 7
by the package's ``hook_submissions()``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

from .ledger import _lock, _wrap, log


def force_subjobs_too() -> None:
    """Install item 9 (idempotent; undone by remove)."""
    from GangaCore.GPIDev.Lib.Job.Job import Job

    with _lock:
        _wrap(Job, "force_status", _forcing_subjobs_too)


def _forcing_subjobs_too(original: Any) -> Any:
    @functools.wraps(original)
    def force_status(self: Any, status: Any, force: bool = False) -> Any:
        with _subjobs_forced_after(self, status):
            return original(self, status, force)

    force_status.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return force_status


@contextlib.contextmanager
def _subjobs_forced_after(job: Any, status: Any, *_args: Any, **_kwargs: Any) -> Iterator[None]:
    """Around Ganga's ``force_status`` of ``job``: once it returned, a master now ``status`` forces its
    active subjobs too (not if it raised)."""
    yield
    if status is not None and job.master is None and job.status == status:
        _force_active_subjobs(job, status)


def _force_active_subjobs(master: Any, status: str) -> None:
    try:
        subjobs = list(master.subjobs) if len(master.subjobs) else []
    except Exception:  # noqa: BLE001 - a master whose subjobs cannot be read: leave them
        log.warning("job %s: its subjobs could not be read to force them %s", master.id, status)
        return
    forced = []
    for sub in subjobs:
        if sub.status in ("submitted", "running", "completing"):
            try:
                sub.updateStatus(status, update_master=False, ignore_failures=True)
            except Exception as err:  # noqa: BLE001 - Ganga's state graph may refuse one: say so, go on
                log.warning("subjob %s could not be forced %s: %s", sub.getFQID("."), status, err)
                continue
            forced.append(sub.id)
    if forced:
        log.info("job %s forced %s: so were its %d active subjob(s)", master.id, status, len(forced))
