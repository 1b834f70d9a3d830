"""Item 17: a master's set of subjob statuses is answered from counts, not by reading every subjob.

What: ``Job.getSubJobStatuses`` is answered from counts kept per master
(``repository/rollup.py``, ``SubjobStatuses``, :data:`SUBJOB_STATUSES`), kept
exact by a listener on item 2's status watch told of subjobs' changes too.

Why: Ganga's ``updateMasterJobStatus`` reads the set of a master's subjob
statuses after every status change of every subjob, and Ganga built it by
reading all N subjobs' statuses: a split job's life made O(N²) reads, a
third of the GIL of a 6,000-subjob ``submit()`` and again for each state
every compatibility-path backend reports.

Contract: the counts are built by one scan under the master's lock and
moved by the listener, which runs after Ganga let that lock go and so
re-reads the subjob's status under the counter's own lock (idempotent,
order-free); once writers are quiet the answer is the set stock would read.
:func:`check_counts` compares the counts with a recount and repairs a
mismatch that persists (for the component's periodic checks).  A master
whose subjobs are a ``SubJobJsonList`` (Ganga's database repository) keeps
Ganga's own answer.  Needs item 2: without the
status watch nothing is installed (a warning says so).
:func:`subjob_statuses_counted` installs it when the component starts.

Undone by: remove() restores Ganga's method (the ledger), forgets the
listener with all status listeners, and empties the counts.
"""

from __future__ import annotations

import functools
from typing import Any

from .ledger import _lock, _wrap, log
from .shared import SUBJOB_STATUSES
from .status_watch import add_status_listener, is_watched


def subjob_statuses_counted() -> None:
    """Install item 17 (idempotent; undone by remove).  Needs item 2's status watch (installed by
    ``apply()``): without it nothing is installed."""
    from GangaCore.GPIDev.Lib.Job.Job import Job

    with _lock:
        if not is_watched():
            log.warning("Job.status is not watched: subjob statuses are read from every subjob (as stock)")
            return
        if not getattr(vars(Job)["getSubJobStatuses"], "__gm_wrapped__", False):
            SUBJOB_STATUSES.clear()  # counts of a session before, kept while no listener ran
        add_status_listener(SUBJOB_STATUSES.changed, subjobs=True)
        _wrap(Job, "getSubJobStatuses", _counted_statuses)


def _counted_statuses(get_statuses: Any) -> Any:
    @functools.wraps(get_statuses)
    def getSubJobStatuses(self: Any) -> Any:  # noqa: N802 - Ganga's name
        counted = _counted(self)
        return get_statuses(self) if counted is None else counted

    getSubJobStatuses.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return getSubJobStatuses


def _counted(job: Any) -> set[str] | None:
    """``job``'s set of subjob statuses from the counts; None for a ``SubJobJsonList`` (Ganga's answer)."""
    from GangaCore.Core.GangaRepository.SubJobJsonList import SubJobJsonList

    if isinstance(job.subjobs, SubJobJsonList):
        return None
    return SUBJOB_STATUSES.statuses(job)


def check_counts() -> int:
    """Compare every counted master's counts with a recount, log and repair a lasting mismatch (a periodic
    check: cheap, O(counted subjobs), takes no job lock).  Returns how many subjobs were repaired."""
    return SUBJOB_STATUSES.check()
