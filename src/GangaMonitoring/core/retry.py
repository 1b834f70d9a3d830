"""Retry policies as values: tenacity strategies evaluated into due times.

tenacity's ``Retrying`` sleeps in the calling thread; a pool worker that
sleeps is a worker lost.  Here a policy is only *evaluated*: given the
failed operation and its error, :meth:`RetryPolicy.next_due` answers "run
again at time T" or "give up", and the scheduler requeues the operation at T.
Attempts and the last error live on our own :class:`Operation`, because
tenacity's statistics are thread-local and shared between calls.
"""

from __future__ import annotations

import enum
import errno
from dataclasses import dataclass, field

from tenacity import Future as AttemptOutcome
from tenacity import retry_if_exception, stop_after_attempt, wait_exponential_jitter
from tenacity.retry import retry_base
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from .work import Operation


class MonitoringError(Exception):
    """Base of the errors monitoring code raises on purpose."""


class TransientError(MonitoringError):
    """Worth retrying: a timeout, a 5xx, a connection refused, a busy file."""


class PermanentError(MonitoringError):
    """Retrying cannot help: a malformed request, a job the backend never knew."""


class BackendUnavailable(TransientError):
    """The backend service is down (a breaker may open on these)."""


def is_transient(error: BaseException) -> bool:
    """Our default split: everything not declared permanent may be retried.

    Backends raise all sorts of exceptions (``OSError``, ``KeyError`` from a
    half-written status file, ``RuntimeError`` from a client library); a poll
    that failed once usually works next time, so only errors that say so are
    treated as permanent.
    """
    return not isinstance(error, (PermanentError, TypeError, NotImplementedError))


class PollFailed(TransientError):
    """Some jobs of a poll could not be polled (the others were)."""


class JobsFailed(PollFailed):
    """Some jobs' updates failed on their own while the backend answered for the others: their trouble,
    not the backend's (a backend is failing when its calls fail, not when some of its jobs do)."""


class BackendPollFailed(PollFailed, BackendUnavailable):
    """No job of a poll could be polled: the backend itself fails (its breaker counts this)."""


class DiskFull(TransientError):
    """The local disk (or quota) is full: retrieval must pause until there is room."""


class Fault(enum.Enum):
    """Whose fault a failure is: what a breaker counts."""

    JOB = "job"
    """This operation's own problem (one bad job, one refused request)."""
    BACKEND = "backend"
    """The backend's service is unwell: its breaker counts it."""
    DISK = "disk"
    """The local disk is full: the disk breaker pauses every retrieval and finalisation."""


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, DiskFull) or (isinstance(error, OSError) and error.errno in (errno.ENOSPC,
                                                                                          errno.EDQUOT))


def fault_of(error: BaseException) -> Fault:
    if is_disk_full(error):
        return Fault.DISK
    return Fault.BACKEND if is_backend_fault(error) else Fault.JOB


def is_backend_fault(error: BaseException) -> bool:
    """Does ``error`` say that the backend's service is unwell (not that one job is)?

    What a breaker counts.  Declared outages are; our own errors otherwise
    are not (a poll that failed for some jobs, a permanent refusal of one
    request); any other exception escaping a backend-wide call is, unless
    it is permanent.
    """
    if isinstance(error, BackendUnavailable):
        return True
    if isinstance(error, MonitoringError):
        return False
    return is_transient(error)


@dataclass
class _AttemptState:
    """The duck-typed subset of tenacity's RetryCallState that strategies read."""

    attempt_number: int
    seconds_since_start: float
    outcome: AttemptOutcome
    idle_for: float = 0.0
    upcoming_sleep: float = 0.0


@dataclass(frozen=True)
class RetryPolicy:
    """When to run a failed operation again, and when to stop trying."""

    name: str
    wait: wait_base = field(default_factory=lambda: wait_exponential_jitter(initial=1, max=60, jitter=1))
    stop: stop_base = field(default_factory=lambda: stop_after_attempt(5))
    retry: retry_base = field(default_factory=lambda: retry_if_exception(is_transient))

    def next_due(self, op: Operation, error: BaseException, now: float) -> float | None:
        """Absolute time to run ``op`` again after ``error``, or None to give up."""
        attempt = max(1, op.attempts)
        outcome = AttemptOutcome(attempt)
        outcome.set_exception(error)
        state = _AttemptState(
            attempt_number=attempt,
            seconds_since_start=max(0.0, now - (op.first_started_at if op.first_started_at is not None
                                                 else op.submitted_at)),
            outcome=outcome,
        )
        if not self.retry(state):  # type: ignore[arg-type]
            return None
        delay = float(self.wait(state))  # type: ignore[arg-type]
        state.upcoming_sleep = delay
        if self.stop(state):  # type: ignore[arg-type]
            return None
        return now + delay
