"""Item 20: job tables are read once per row, from what is in memory, and never wait for a job's lock.

What: ``JobRegistrySlice._display`` and ``__str__`` (the ``jobs`` table, a
slice of it, ``j.subjobs``, the subjob table of ``print(j)``) make their text
with ``views/job_tables.py`` (``render``), which reads each row once, asks no
registry walk whether a job is loaded, reads ``fqid`` without the getter that
takes the master's lock, and takes a split job's ``subjob status`` from item
17's counts (:data:`SUBJOB_STATUSES`) instead of reading every subjob.

Why: Ganga's table computed a loaded job's whole index entry for each of its
columns (a 10-row ``jobs`` table read each subjob behind it 18 times), asked
``Registry.has_loaded`` (two walks of the registry) for each cell, and each
subjob row's ``fqid`` took its master's lock, which the registry flusher and
monitoring's writers hold: a 1,000-row subjob table waited on them.

While it computes, a table keeps the GIL up to 50 ms at a time (:data:`PROMPT_FIRST`): twenty
monitoring threads asking for it otherwise made a table cost several times its own CPU time; and
monitoring starts no new operation meanwhile (:data:`PROMPT_TURN`, at most 200 ms a table).

Contract: the text is Ganga's for the same jobs (``job_tables``' contract);
values are as fresh as the last status write.  Without item 17 installed, or
for a master whose subjobs are a ``SubJobJsonList``, ``subjob status`` is
Ganga's column function.  A table whose rows are another private display, or
one ``render`` fails on (logged once), is Ganga's own.
:func:`tables_read_once` installs it when the component starts.

Undone by: remove() deletes the two names from ``JobRegistrySlice`` again
(they are ``RegistrySlice``'s, inherited; the ledger).
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import Any

from ..views import job_tables
from .ledger import _lock, _wrap, log
from .shared import PROMPT_FIRST, PROMPT_TURN, SUBJOB_STATUSES

_failed_once: list[bool] = []
"""Non-empty once a render failed (logged once; Ganga's own table is shown)."""


def tables_read_once() -> None:
    """Install item 20 (idempotent; undone by remove)."""
    from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice
    from GangaCore.GPIDev.Lib.Registry.RegistrySlice import RegistrySlice

    with _lock:
        _wrap(JobRegistrySlice, "_display", _rendered_once, shadowed=RegistrySlice._display)
        _wrap(JobRegistrySlice, "__str__", _rendered_once, shadowed=RegistrySlice.__str__)


def counts_of(job: Any) -> Counter[str] | None:
    """``job``'s subjob counts from item 17, or None where item 17 does not answer for it."""
    from GangaCore.Core.GangaRepository.SubJobJsonList import SubJobJsonList
    from GangaCore.GPIDev.Lib.Job.Job import Job

    if not getattr(vars(Job).get("getSubJobStatuses"), "__gm_wrapped__", False):
        return None
    if isinstance(job.subjobs, SubJobJsonList):
        return None
    return SUBJOB_STATUSES.counts(job)


def _rendered_once(display: Any) -> Any:
    from GangaCore.Utility.Config import getConfig

    config = getConfig("Display")

    @functools.wraps(display)
    def _display(self: Any, interactive: Any = 0) -> Any:
        try:
            with PROMPT_FIRST.longer(), PROMPT_TURN.typed():
                text = job_tables.render(self, interactive, counts_of, config["jobs_columns_functions"])
        except Exception:  # noqa: BLE001 - a bug of ours must not cost the user the table: Ganga's own
            if not _failed_once:
                _failed_once.append(True)
                log.exception("a job table could not be read once per row: Ganga's own table is shown")
            text = None
        return display(self, interactive) if text is None else text

    _display.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return _display
