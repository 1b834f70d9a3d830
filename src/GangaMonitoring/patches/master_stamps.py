"""Item 25: a split master's time stamps are taken from its subjobs once per submission, not once per subjob.

What: ``JobTime.timenow(status)`` of a split master whose ``submit()`` or
``resubmit()`` runs (item 7), for a status whose stamp Ganga takes from the
subjobs (any but :data:`STAMPED_BY_MASTER`), notes the master and returns;
when that submission ends (its listener, in the submitting thread) the
master's ``timenow`` runs once, with the last status noted.

Why: for such a status Ganga's ``timenow`` of a master walks every subjob
once for each status any subjob has been stamped with (the master's
``sj_statlist``), and GangaDirac's block submission calls it on the master
after each subjob it submitted: O(subjobs² x statuses), in the thread that
submits.  Measured with GangaDirac on the simulated DIRAC, 1,000 subjobs in
blocks of 100: 80 % of the process's GIL during ``submit()``; and each
status a subjob reaches meanwhile (running, completed, their backend stamps:
subjobs finalised during the submission, issue 30) makes every later walk
longer.

Contract: outside a submission, for an unsplit job or a subjob, and for the
statuses in :data:`STAMPED_BY_MASTER`, ``timenow`` is Ganga's.  For a master
in submission, the stamps Ganga takes from the subjobs are the same once the
submission has ended as if every call had run (each call recomputes all of
them from the subjobs as they are then, so the last one decides); while the
submission runs they may lag the subjobs' (the caller of ``submit()`` is
waiting for it).  A submission that raises is ended the same way.

Undone by: remove() restores ``JobTime.timenow`` (the ledger) and forgets the
masters noted (:func:`forget_noted`); its submission listener goes with the
others (``clear_submission_listeners``).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from .ledger import _lock, _wrap, log
from .submissions import add_submission_listener, in_submission

STAMPED_BY_MASTER = frozenset({"new", "submitting", "killed"})
"""Statuses a split master stamps with its own time (Ganga's ``timenow``): never deferred."""

_noted_lock = threading.Lock()
_noted: dict[int, tuple[Any, str]] = {}
"""id() of a master being submitted whose stamps wait for the end of its submission -> (master, last status)."""


def master_stamps_once() -> None:
    """Install item 25 (idempotent; undone by remove)."""
    from GangaCore.GPIDev.Lib.Job.JobTime import JobTime

    with _lock:
        _wrap(JobTime, "timenow", _deferred_in_submission)
        add_submission_listener(_stamp_at_submission_end)


def _deferred_in_submission(timenow: Any) -> Any:
    @functools.wraps(timenow)
    def deferring_timenow(self: Any, status: str) -> Any:
        if stamps_wait(self, status):
            return None
        return timenow(self, status)

    deferring_timenow.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return deferring_timenow


def stamps_wait(job_time: Any, status: str) -> bool:
    """Does ``timenow(status)`` of ``job_time`` (a ``JobTime``) wait for the end of its master's submission?

    True (the master noted) for a split master in submission and a status it takes from its subjobs.
    """
    if status in STAMPED_BY_MASTER:
        return False
    job = job_time.getJobObject()
    # every status change of every job asks: the dict lookup first, the attribute reads only in a submission
    if job is None or not in_submission(job) or job.master is not None or not len(job.subjobs):
        return False
    with _noted_lock:
        if not in_submission(job):  # item 7 forgets a submission before its listeners run
            return False
        _noted[id(job)] = (job, status)
    return True


def _stamp_at_submission_end(job: Any) -> None:
    with _noted_lock:
        noted = _noted.pop(id(job), None)
    if noted is None:
        return
    try:
        job.time.timenow(noted[1])  # not in submission any more: Ganga's, once
    except Exception:  # noqa: BLE001 - the stamps are a display's: the submission's outcome stands
        log.exception("the time stamps of job %s could not be taken from its subjobs", getattr(job, "id", "?"))


def forget_noted() -> None:
    """Forget the masters noted (remove())."""
    with _noted_lock:
        _noted.clear()
