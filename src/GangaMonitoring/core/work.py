"""The units of monitoring work: kinds, priority classes, states, operations.

An :class:`Operation` is one piece of work the scheduler orders and a pool
runs: poll one backend's jobs, retrieve one job's output, finalise one job,
or run a call a user (or Ganga code on the user's behalf) asked for.

Operations are identified by an :class:`OpKey`, made by its constructors
only (``OpKey.poll(group, backend)``, ``OpKey.retrieve(fqid)``...), so one
place says what identifies each kind of work.  The scheduler keeps at most
one pending operation per key, so asking twice for the same work merges the
two requests instead of doing the work twice (stock Ganga's ``enable()``
twice doubled its polling chains; here it cannot).

Jobs are named by a :class:`JobKey`, ``(top-level id, subjob id or None)``:
plain data that finds the job again (or finds it gone) in any thread or
process.  An operation's ``backend`` is the backend whose service or limits
it concerns, or None for the session's own work (re-reading the registry,
the periodic checks): no made-up backend names.
"""

from __future__ import annotations

import enum
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from collections.abc import Callable, Hashable, Iterable


class Kind(enum.Enum):
    """What an operation does; each kind has its own default pool."""

    POLL = "poll"
    """Ask a backend for the status of a set of jobs (I/O, short)."""
    RETRIEVE = "retrieve"
    """Download a finished job's output (I/O, may be long)."""
    FINALISE = "finalise"
    """Unpack, check, merge a finished job's output (CPU) and set its state."""
    CALL = "call"
    """An arbitrary monitoring call requested through the compatibility API."""


class PriorityClass(enum.IntEnum):
    """Order of service; a lower value runs first.

    Aging lets a waiting operation climb one class every ``aging_seconds``,
    so nothing starves behind a steady stream of more urgent work.
    """

    USER = 0
    """Work a user is waiting for (runMonitoring, getOutput, a boost)."""
    FINALISE = 1
    """Finishing jobs that are done on the backend: output retrieval, finalisation."""
    POLL = 2
    """Polling running (and recently submitted) jobs."""
    QUEUED = 3
    """Polling jobs that have been queued on the backend for a long time."""


class State(enum.Enum):
    """Where an operation is in its life."""

    WAITING = "waiting"
    """Not due yet (a poll interval or a retry backoff runs)."""
    READY = "ready"
    """Due; waits for a free worker in its pool and a free slot of its backend."""
    RUNNING = "running"
    """Handed to a pool."""
    DONE = "done"
    """Finished (successfully or given up); kept only in the history."""
    CANCELLED = "cancelled"
    """Withdrawn before it ran."""
    HUNG = "hung"
    """Ran past its ``hang_after``: its key, slot and jobs went to newer work, its thread still runs the
    call; when the call returns, the operation ends (DONE) and its outcome is ignored."""


class JobKey(NamedTuple):
    """A job's identity as plain data: ``(id, None)`` for a top-level job, ``(master id, id)`` for a subjob.

    A tuple, so it hashes, orders and pickles as one; ``str()`` is the FQID Ganga shows.
    """

    top: int
    """The top-level job's id (the master's, for a subjob)."""
    sub: int | None = None
    """The subjob's id, or None for a top-level job."""

    @property
    def fqid(self) -> str:
        """``"8"`` or ``"8.41"``, as Ganga writes it."""
        return str(self.top) if self.sub is None else f"{self.top}.{self.sub}"

    def __str__(self) -> str:
        return self.fqid


UPDATE = "update"
"""What a fan-out child's key names (:meth:`OpKey.update`)."""
FILE_EVENT_POLL = "file-event-poll"
"""``OpKey.what`` of the poll of jobs whose status files changed (``core/changed.py``)."""


@dataclass(frozen=True)
class OpKey:
    """What identifies one piece of work: at most one operation per key is pending.

    ``what`` names the work ("poll", "retrieve", a check's name...), ``subject``
    what it is done to (a backend, a job's FQID, ...).  Made by the
    constructors below, never by hand, so two requests for the same work
    always build equal keys.
    """

    what: str
    subject: Hashable = None

    @classmethod
    def poll(cls, group: str, backend: str) -> OpKey:
        """A periodic poll of one of ``backend``'s groups of jobs (``planner.POLL``, ``POLL_QUEUED``, ``POLL_NEW``)."""
        return cls(group, backend)

    @classmethod
    def poll_jobs(cls, backend: str, job_ids: frozenset[int]) -> OpKey:
        """A poll a user asked for, of these top-level jobs of ``backend``."""
        return cls("poll-jobs", (backend, job_ids))

    @classmethod
    def file_event_poll(cls, backend: str) -> OpKey:
        """The poll of ``backend``'s jobs whose status files changed (one pending per backend)."""
        return cls(FILE_EVENT_POLL, backend)

    @classmethod
    def update(cls, backend: str | None, first: JobKey) -> OpKey:
        """One chunk of a poll's fan-out on the compatibility path, named by its first job."""
        return cls(UPDATE, (backend, first))

    @classmethod
    def retrieve(cls, fqid: str) -> OpKey:
        """The download of one finished job's output."""
        return cls("retrieve", fqid)

    @classmethod
    def finalise(cls, fqid: str) -> OpKey:
        """The unpacking and final state of one finished job."""
        return cls("finalise", fqid)

    @classmethod
    def rollup(cls, master_id: int) -> OpKey:
        """A master's state from its subjobs' states."""
        return cls("rollup", master_id)

    @classmethod
    def held_ends(cls, master_id: int) -> OpKey:
        """The subjob ends held until a master's submission returned (``integration/pipeline.py``)."""
        return cls("held-ends", master_id)

    @classmethod
    def call(cls, name: str, fqids: tuple[str, ...]) -> OpKey:
        """A monitoring call made through the compatibility API (``name`` on these jobs)."""
        return cls("call", (name, fqids))

    @classmethod
    def kill_resubmit(cls, job_id: int) -> OpKey:
        """The auto-kill and auto-resubmit check of one job."""
        return cls("kill-resubmit", job_id)

    @classmethod
    def teardown(cls, backend: str) -> OpKey:
        """The end of monitoring of a backend that has no active job left."""
        return cls("teardown", backend)

    @classmethod
    def session(cls, name: str) -> OpKey:
        """A piece of the session's own work: re-reading the registry, a periodic check."""
        return cls(name)

    def __str__(self) -> str:
        return self.what if self.subject is None else f"{self.what} {self.subject}"


TERMINAL_STATES = frozenset({State.DONE, State.CANCELLED})

REPLACEMENT_THREADS = 2
"""Threads each pool may add to replace threads stuck in hung calls.  A hung operation beyond that
keeps its slot until it returns (the pool runs one worker short), so a pool never has more than
``2 × size + REPLACEMENT_THREADS`` threads (``pools.Pools``: a slot each, one per slot for work
its holder lent it, and the replacements)."""

DEFAULT_POOL = {
    Kind.POLL: "poll",
    Kind.CALL: "poll",
    Kind.RETRIEVE: "io",
    Kind.FINALISE: "cpu",
}

_sequence = itertools.count()


@dataclass(eq=False)
class Operation:
    """One schedulable piece of work.

    ``action`` is what a pool runs; the scheduler itself never calls it, so
    scheduling logic is tested with plain values.  ``job_ids`` names the jobs
    the operation concerns (for boosts, ``queues.why`` and merging).

    Invariant: every field changes under the operation's own lock (as a
    ``concurrent.futures.Future``'s state changes under its condition).  An
    assignment takes it (``__setattr__``), so a plain ``op.x = y`` from any
    thread is one locked write; a change that reads the field it writes
    goes through a method (:meth:`add_units`, :meth:`add_job_ids`,
    :meth:`next_attempt`, :meth:`bump_version`), or several writes that
    belong together run inside ``with op.locked():``.  The scheduler writes
    under its runner's lock too; that lock is always taken first.
    """

    key: OpKey
    kind: Kind
    backend: str | None
    """The backend whose service and limits this concerns; None: the session's own work."""
    priority: PriorityClass
    due: float
    action: Callable[[Operation], Any] | None = None
    pool: str = ""
    job_ids: set[Any] = field(default_factory=set)
    description: str = ""
    parent: OpKey | None = None
    """The key of the operation this one is part of (a fan-out child of a poll): it is not
    retried on its own, breakers neither hold nor count it (they admitted and count the
    parent), and its parent waits for it."""
    units: int = 1
    """Requests the action made, roughly (an action may set it): latency is compared per unit
    (``adaptive``).  0: no sample (a parent whose children were measured)."""
    # bookkeeping, written by the scheduler only
    state: State = State.WAITING
    submitted_at: float = 0.0
    ready_at: float | None = None
    started_at: float | None = None
    first_started_at: float | None = None
    """When the first attempt started (kept across retries: "give up after N seconds" counts from it)."""
    finished_at: float | None = None
    attempts: int = 0
    last_error: str | None = None
    waiting_reason: str = ""
    borrowed: bool = False
    """Runs in the slot of the operation that took it (:meth:`Scheduler.take`): no pool slot of its own."""
    hang_after: float | None = None
    """Seconds a run may take before it is declared hung (:attr:`State.HUNG`); None: never."""
    thread: str = ""
    """The thread that runs (or last ran) it, for ``queues``."""
    hung_at: float | None = None
    """When it was declared hung."""
    seq: int = field(default_factory=lambda: next(_sequence))
    version: int = 0

    def __post_init__(self) -> None:
        if not self.pool:
            self.pool = DEFAULT_POOL[self.kind]
        self.priority = PriorityClass(self.priority)
        object.__setattr__(self, "_lock", threading.RLock())  # from here on every write takes it

    def __setattr__(self, name: str, value: Any) -> None:
        lock = self.__dict__.get("_lock")
        if lock is None:  # still in __init__: nobody else sees the operation yet
            object.__setattr__(self, name, value)
            return
        with lock:
            object.__setattr__(self, name, value)

    def locked(self) -> threading.RLock:
        """The operation's lock, for writes that belong together (``with op.locked(): ...``)."""
        return self.__dict__["_lock"]  # type: ignore[no-any-return]

    def add_units(self, count: int) -> None:
        """Count ``count`` more requests made by the action (from whichever thread made them)."""
        with self.locked():
            self.units = self.units + count

    def add_job_ids(self, ids: Iterable[Any]) -> None:
        """Name more jobs this operation concerns (a merge)."""
        with self.locked():
            self.job_ids = self.job_ids | set(ids)

    def next_attempt(self) -> int:
        """Count one more attempt; returns its number."""
        with self.locked():
            self.attempts = self.attempts + 1
            return self.attempts

    def bump_version(self) -> None:
        """Invalidate the operation's heap entries (it was re-queued, cancelled or ended)."""
        with self.locked():
            self.version = self.version + 1

    def __repr__(self) -> str:
        extra = f" attempts={self.attempts}" if self.attempts else ""
        err = f" last_error={self.last_error!r}" if self.last_error else ""
        return (f"<Operation {self.kind.value} {self.backend} key={self.key!r} "
                f"state={self.state.value} prio={self.priority.name} due={self.due:.3f} "
                f"jobs={len(self.job_ids)}{extra}{err}>")
