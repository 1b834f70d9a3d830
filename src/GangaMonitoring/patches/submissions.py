"""Item 7: a job is Ganga's while its ``submit()`` or ``resubmit()`` runs; a split one's master too.

What: ``Job.submit`` and ``Job.resubmit`` note the job while they run;
:func:`in_submission` answers whether a job is being submitted now, and the
component's polls leave such a job alone until its submit has returned,
except the subjobs of a split job already submitted (they are polled,
retrieved and finalised while the others are still being submitted).
``Job.updateMasterJobStatus`` leaves a master being submitted as it is when
it is called from any thread but the submitting one, or when the roll-up
would make it final (completed, failed, killed): its subjobs not yet
submitted are ``new``, which Ganga's roll-up does not count.

Why: Ganga's submit sets an unsplit job ``submitted`` twice: once in
``IBackend.master_submit``, once more before it returns.  A monitor that
polls in between (stock's 2 s scan, our first poll) may already have moved
it to ``running`` or ``completing``, and the second ``submitted`` undoes
that (seen under load: a job completing, then ``submitted`` again, then
finalised anew).

Why the master's roll-up waits: a master rolled up by a monitoring thread
(Ganga's, from a subjob's ``updateStatus``, or ours) while ``submit()`` runs
either fails (``submitting`` to ``running`` is forbidden) or ends it
(``completed`` while subjobs are still ``new``), and ``submit()`` then fails
on its own last ``submitted``.  The submission-end listener rolls it up.

Contract: the calls run as stock's; a job is noted by ``id()`` with a count
(calls on one job that overlap count each) and the thread of its first call,
forgotten when the last call returns or raises; then each submission listener
is called with the job (in the submitting thread; a listener that raises is
logged, the submit's outcome stands), and :func:`rollup_deferred` tells it
whether a roll-up that would have changed the master waited.  A roll-up that
would change nothing returns as Ganga's does.  Outside a submission
``updateMasterJobStatus`` is stock's.

Undone by: remove() restores the methods (the ledger).  Installed with item 9
by the package's ``hook_submissions()``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
import threading
from typing import Any

from .ledger import _lock, _wrap, log

_in_submission: dict[int, int] = {}
"""id() of a Job object whose submit() or resubmit() runs -> how many such calls run."""
_submitting_thread: dict[int, int] = {}
"""id() of a Job object whose submit() or resubmit() runs -> the ident of the thread of its first such call."""

_deferred: set[int] = set()
"""id() of a Job being submitted whose roll-up, which would have changed it, waits for the end of the submission."""
_deferred_after: set[int] = set()
"""The same, while the submission listeners of its end run (:func:`rollup_deferred`)."""

ACTIVE_SUBJOB_STATES = frozenset({"submitting", "submitted", "running", "completing"})
"""A master with a subjob in one of these is rolled up to an active state by Ganga (not a final one)."""

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
        _wrap(Job, "updateMasterJobStatus", _rolled_up_after_submission)


def _noting_submission(original: Any) -> Any:
    @functools.wraps(original)
    def submit(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _noted_in_submission(self):
            return original(self, *args, **kwargs)

    submit.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return submit


@contextlib.contextmanager
def _noted_in_submission(job: Any, *_args: Any, **_kwargs: Any) -> Iterator[None]:
    """``job`` noted while the block (its submit or resubmit) runs; then the submission listeners."""
    key = id(job)
    with _lock:
        _in_submission[key] = _in_submission.get(key, 0) + 1
        _submitting_thread.setdefault(key, threading.get_ident())
    try:
        yield
    finally:
        with _lock:
            left = _in_submission.pop(key) - 1
            if left:
                _in_submission[key] = left
            else:
                _submitting_thread.pop(key, None)
                if key in _deferred:
                    _deferred.discard(key)
                    _deferred_after.add(key)
            listeners = [] if left else list(_submission_listeners)
        for listener in listeners:
            try:
                listener(job)
            except Exception:  # noqa: BLE001 - a listener's bug never changes the submit's outcome
                log.exception("a listener of the end of job %s's submission failed", getattr(job, "id", "?"))
        if not left:
            with _lock:
                _deferred_after.discard(key)


def in_submission(job: Any) -> bool:
    """Is ``job`` (a raw Job) being submitted or resubmitted right now?"""
    return id(job) in _in_submission


def rollup_deferred(job: Any) -> bool:
    """Did a roll-up that would have changed ``job`` wait for the end of its submission?  (Asked by the
    submission listeners, in the submitting thread: forgotten once they return.)"""
    return id(job) in _deferred_after


ROLL_UP_ORDER = ("submitting", "submitted", "running", "completing", "failed", "killed", "completed")
"""The first of these a master's subjobs are in is the state Ganga rolls it up to (``new`` is not counted)."""


def rolled_up_state(subjob_states: set[str]) -> str | None:
    """The state Ganga's roll-up gives a master whose subjobs are in ``subjob_states`` (None: none it counts)."""
    return next((state for state in ROLL_UP_ORDER if state in subjob_states), None)


def _rolled_up_after_submission(original: Any) -> Any:
    @functools.wraps(original)
    def updateMasterJobStatus(self: Any) -> Any:  # noqa: N802 - Ganga's name
        if _roll_up_waits(self):
            return None
        return original(self)

    updateMasterJobStatus.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return updateMasterJobStatus


def _roll_up_waits(job: Any) -> bool:
    """Is ``job``'s roll-up (``updateMasterJobStatus``) to be left as it is now?  Only during its submission:
    a roll-up that would change nothing, or one another thread asks for or that would make it final (then
    noted: it waits for the end of the submission)."""
    key = id(job)
    thread = _submitting_thread.get(key)
    if thread is None:
        return False
    target = rolled_up_state(set(job.getSubJobStatuses()))
    if target is None or target == job.status:
        return True  # no change: Ganga's own would make none either
    if thread != threading.get_ident() or target not in ACTIVE_SUBJOB_STATES:
        # another thread's (monitoring's), or final while the rest are still 'new'
        log.debug("job %s is being submitted: its roll-up to %s waits for the end of its submission",
                  getattr(job, "id", "?"), target)
        with _lock:
            _deferred.add(key)
        return True
    return False
