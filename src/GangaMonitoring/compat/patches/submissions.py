"""Item 7: a job is Ganga's while its ``submit()`` or ``resubmit()`` runs.

What: ``Job.submit`` and ``Job.resubmit`` note the job while they run;
:func:`in_submission` answers whether a job is being submitted now, and the
component's polls leave such a job alone until its submit has returned.

Why: Ganga's submit sets an unsplit job ``submitted`` twice: once in
``IBackend.master_submit``, once more before it returns.  A monitor that
polls in between (stock's 2 s scan, our first poll) may already have moved
it to ``running`` or ``completing``, and the second ``submitted`` undoes
that (seen under load: a job completing, then ``submitted`` again, then
finalised anew).

Contract: the calls run as stock's; a job is noted by ``id()`` with a count
(calls on one job that overlap count each), forgotten when the last call returns
or raises.

Undone by: remove() restores the methods (the ledger).  Installed with item 9
by the package's ``hook_submissions()``.
"""

from __future__ import annotations

import functools
from typing import Any

from .ledger import _lock, _wrap

_in_submission: dict[int, int] = {}
"""id() of a Job object whose submit() or resubmit() runs -> how many such calls run."""


def note_submissions() -> None:
    """Install item 7 (idempotent; undone by remove)."""
    from GangaCore.GPIDev.Lib.Job.Job import Job

    with _lock:
        for name in ("submit", "resubmit"):
            _wrap(Job, name, _noting_submission)


def _noting_submission(original: Any) -> Any:
    @functools.wraps(original)
    def submit(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = id(self)
        with _lock:
            _in_submission[key] = _in_submission.get(key, 0) + 1
        try:
            return original(self, *args, **kwargs)
        finally:
            with _lock:
                left = _in_submission.pop(key) - 1
                if left:
                    _in_submission[key] = left

    submit.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return submit


def in_submission(job: Any) -> bool:
    """Is ``job`` (a raw Job) being submitted or resubmitted right now?"""
    return id(job) in _in_submission
