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
or raises; then each submission listener is called with the job (in the
submitting thread; a listener that raises is logged, the submit's outcome stands).

Undone by: remove() restores the methods (the ledger).  Installed with item 9
by the package's ``hook_submissions()``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .ledger import _lock, _wrap, log

_in_submission: dict[int, int] = {}
"""id() of a Job object whose submit() or resubmit() runs -> how many such calls run."""

SubmissionListener = Callable[[Any], None]
_submission_listeners: list[SubmissionListener] = []
"""Called with a job when its last submit()/resubmit() call ends: polls left it alone until then."""


def add_submission_listener(listener: SubmissionListener) -> None:
    with _lock:
        if listener not in _submission_listeners:
            _submission_listeners.append(listener)


def remove_submission_listener(listener: SubmissionListener) -> None:
    with _lock:
        if listener in _submission_listeners:
            _submission_listeners.remove(listener)


def clear_submission_listeners() -> None:
    with _lock:
        _submission_listeners.clear()


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
                listeners = [] if left else list(_submission_listeners)
            for listener in listeners:
                try:
                    listener(self)
                except Exception:  # noqa: BLE001 - a listener's bug never changes the submit's outcome
                    log.exception("a listener of the end of job %s's submission failed", getattr(self, "id", "?"))

    submit.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return submit


def in_submission(job: Any) -> bool:
    """Is ``job`` (a raw Job) being submitted or resubmitted right now?"""
    return id(job) in _in_submission
