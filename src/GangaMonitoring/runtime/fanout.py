"""Fan-out with fan-in: the nested updates of a poll, as operations of their own.

Ganga's ``IBackend.master_updateMonitoringInformation(jobs)`` calls
``run_monitoring_task(update, subjobs)`` once per master job (and once for
a backend's unsplit jobs) and returns; stock Ganga ran each call in its
thread pool and forgot it, so a backend's masters were updated
concurrently, and a poll overlapping a slow one updated (and downloaded)
the same jobs twice.  Here, inside a poll (the *parent*)::

    parent poll ──► master_updateMonitoringInformation(jobs)
                        │ run_monitoring_task(update, subjobs)  (per call)
                        ▼
                    Parent.add ── jobs already in flight? wait for their child instead
                        │ the rest, in chunks of ``chunk_size``
                        ▼
                    child operations ("update", backend, first job) ──► poll pool,
                        │                   up to the backend's limit
                        ▼
                    Parent.wait ── lends its slot to a child still waiting for one
                                   (Scheduler.take; the child runs on a pool thread),
                                   until all ended or the deadline

Invariants:

- A job is in at most one live child (``in_flight``): a second call for it
  waits for the first child's end instead of updating it again, so no two
  operations update one job at once and no output is fetched twice.
- A parent ends when its children have ended, or at its deadline (a poll
  interval): children still running then go on alone, and the next poll
  skips their jobs, so one slow update never delays a backend's next poll.
  A parent never runs a child in its own thread: a backend's update has no
  timeout, and a parent stuck in one would hold its key, so every later
  poll of the backend would park behind it.  A child it lent its slot to
  and still runs at the deadline adopts a slot of its own.
- A child, or a parent, running longer than ``HANG_AFTER_WAITS`` of the
  parent's waits is *hung* (``SchedulerRunner``): its key and slot go to
  newer work, and the child's jobs leave ``in_flight``, so the next poll
  updates them.  When the hung call returns at last, nothing here counts
  it again: no outcome is reported, and no job is released (a job a newer
  child holds stays that child's).  Limit: a backend's update writes its
  jobs' statuses itself, so a late call may still write a status older
  than a newer poll's; only Ganga's own status transitions guard that.
- A child is not retried on its own (``Operation.parent``): its failure
  fails the parent, whose retry policy applies; within a child, a failed
  call is bisected (``isolate``) so one bad job cannot block its chunk.

Ganga-free: jobs are opaque; ``identify`` names each and ``call`` runs an
update on a list of them.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Iterator, Sequence

from ..core.bugs import own_bug
from ..core.clock import Clock
from .isolate import CallBudget, Unchanged, isolate
from ..core.retry import BackendPollFailed, PollFailed, is_backend_fault
from .runner import SchedulerRunner
from ..core.work import JobKey, Kind, Operation, OpKey, State

Outcomes = Callable[[list[JobKey], list[tuple[JobKey, str]]], None]

HANG_AFTER_WAITS = 4
"""A call is hung once it ran this many times as long as its parent waits (4 poll intervals for a
periodic poll, 4 × ``call_timeout`` for a requested call)."""


@dataclass(eq=False)
class Child:
    """One child operation: the jobs it owns until it ends, and how it ended."""

    key: OpKey
    jobs: frozenset[JobKey]
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    failed_jobs: int = 0
    detail: str = ""
    """Which jobs failed, with their errors (``error`` less its summary)."""
    service_down: bool = False
    """It failed and no call of it succeeded, for the service's fault (not one job's)."""
    op: Operation | None = None
    """Its operation, once submitted."""
    hung: bool = False
    """It ended by being declared hung (its call may still run)."""


@dataclass
class Parent:
    """What one parent operation fanned out, and waits for."""

    op: Operation
    backend: str | None
    """The jobs' backend (None: jobs without one); its children count against its limits."""
    chunk_size: int | None
    budget: CallBudget
    deadline: float
    wait_seconds: float = 0.0
    """How long it waits for its children (its deadline less its start)."""
    helped: Child | None = None
    """The child it lent its slot to, if that child may still run."""
    own: list[Child] = field(default_factory=list)
    joined: list[Child] = field(default_factory=list)
    """Children of other parents that held some of this parent's jobs when it asked."""

    def children(self) -> list[Child]:
        return [*self.own, *self.joined]

    @property
    def named(self) -> str:
        """The backend as prose says it."""
        return self.backend or "backend-less"

    def failures(self) -> list[Child]:
        return [c for c in self.own if c.done.is_set() and c.error is not None]


INLINE = "inline"


class _Context(threading.local):
    """Per thread: what a nested ``run_monitoring_task`` means here (innermost last)."""

    def __init__(self) -> None:
        self.stack: list[tuple[str, Any]] = []


class FanOut:
    """Turns a parent's nested update calls into child operations, and waits for them."""

    def __init__(self, runner: SchedulerRunner, clock: Clock, *, call: Callable[[Any, list[Any]], None],
                 identify: Callable[[Any], JobKey],
                 on_child_done: Callable[[Child, Operation], None] | None = None,
                 on_outcomes: Outcomes | None = None,
                 service_fault: Callable[[BaseException], bool] = is_backend_fault,
                 unchanged: Unchanged[Any] | None = None) -> None:
        """``on_outcomes(fine, alone)``, after each child's calls: the jobs updated, and each job that
        failed alone (isolated to a batch of one) while another call of that child succeeded or with
        an error that is not the service's (``service_fault``).  ``unchanged``: given to ``isolate``, so
        the calls that bisect a child's failed call leave out the jobs that call moved."""
        self._on_outcomes = on_outcomes
        self._unchanged = unchanged
        self._service_fault = service_fault
        self._runner = runner
        self._clock = clock
        self._call = call
        self._identify: Callable[[Any], JobKey] = lambda job: JobKey(*identify(job))  # a plain pair is one too
        self._on_child_done = on_child_done
        self._cond = threading.Condition()
        self._in_flight: dict[JobKey, Child] = {}
        self._context = _Context()

    # -- what a nested call means in this thread ------------------------------------

    def current_parent(self) -> Parent | None:
        """The parent whose nested calls fan out in this thread, or None (also inside a child)."""
        stack = self._context.stack
        return stack[-1][1] if stack and stack[-1][0] == "parent" else None

    def inline_here(self) -> bool:
        """Inside a child (or another inline section): nested calls run at once, in this thread."""
        stack = self._context.stack
        return bool(stack) and stack[-1][0] == INLINE

    def in_context(self) -> bool:
        """This thread is inside a parent or a child (a poll's or an update's own work)."""
        return bool(self._context.stack)

    def current_operation(self) -> Operation | None:
        """The child operation running in this thread, if any (its ``units`` count status changes)."""
        stack = self._context.stack
        return stack[-1][1] if stack and stack[-1][0] == INLINE else None

    @contextlib.contextmanager
    def parent(self, op: Operation, backend: str | None, *, deadline: float, chunk_size: int | None,
               budget: CallBudget) -> Iterator[Parent]:
        """Within: nested calls of this thread become children of ``op``.

        ``op`` itself is hung once it runs ``HANG_AFTER_WAITS`` × its wait
        (unless it says otherwise already).
        """
        wait = max(0.0, deadline - self._clock.now())
        parent = Parent(op, backend, chunk_size, budget, deadline, wait)
        if op.hang_after is None and wait > 0:
            op.hang_after = HANG_AFTER_WAITS * wait
        self._context.stack.append(("parent", parent))
        try:
            yield parent
        finally:
            self._context.stack.pop()

    @contextlib.contextmanager
    def inline(self, op: Operation | None = None) -> Iterator[None]:
        """Within: nested calls of this thread run at once (``op``: the operation they belong to)."""
        self._context.stack.append((INLINE, op))
        try:
            yield
        finally:
            self._context.stack.pop()

    # -- fan-out ------------------------------------------------------------------

    def add(self, parent: Parent, task: Any, jobs: Sequence[Any], chunk_size: int | None = None) -> list[Child]:
        """A nested ``run_monitoring_task(task, jobs)``: children for the jobs not in flight.

        Jobs in flight are joined (the parent waits for their child).  The
        rest are split into chunks of ``chunk_size`` (default the parent's;
        None: one child).  Returns the new children.
        """
        size = chunk_size if chunk_size is not None else parent.chunk_size
        keyed = [(self._identify(job), job) for job in jobs]
        created: list[tuple[Child, list[Any]]] = []
        with self._cond:
            fresh = []
            for key, job in keyed:
                holder = self._in_flight.get(key)
                if holder is None:
                    fresh.append((key, job))
                elif holder not in parent.joined and holder not in parent.own:
                    parent.joined.append(holder)
            step = len(fresh) if not size or size <= 0 else size
            for start in range(0, len(fresh), max(1, step)):
                chunk = fresh[start:start + step]
                child = Child(OpKey.update(parent.backend, chunk[0][0]), frozenset(k for k, _ in chunk))
                for key, _ in chunk:
                    self._in_flight[key] = child
                parent.own.append(child)
                created.append((child, [job for _, job in chunk]))
        now = self._clock.now()
        for child, chunk_jobs in created:
            child.op = self._runner.submit(self._child_operation(parent, child, task, chunk_jobs, now),
                                           listener=functools.partial(self._child_ended, child))
        return [child for child, _ in created]

    def _child_operation(self, parent: Parent, child: Child, task: Any, jobs: list[Any], now: float) -> Operation:
        budget = parent.budget

        def action(op: Operation) -> None:
            with self.inline(op):
                outcome = isolate(lambda batch: self._call(task, batch), jobs, budget, bug=own_bug,
                                  unchanged=self._unchanged)
            if op.state is State.HUNG:
                return  # returned after all, late: its jobs may be a newer child's by now; nothing is reported
            if self._on_outcomes is not None:
                failed = {id(job) for batch, _ in outcome.failures for job in batch}
                alone = [(self._identify(batch[0]), _error_text(e)) for batch, e in outcome.failures
                         if len(batch) == 1 and (outcome.succeeded or not self._service_fault(e))]
                self._on_outcomes([self._identify(j) for j in jobs if id(j) not in failed], alone)
            if outcome.failures:
                service = not outcome.succeeded and all(self._service_fault(e) for _, e in outcome.failures)
                child.detail = "; ".join(f"{_describe(batch, self._identify)}: {_error_text(e)}"
                                         for batch, e in outcome.failures[:5])
                child.failed_jobs, child.service_down = outcome.failed_items, service
                error = BackendPollFailed if service else PollFailed
                raise error(f"{outcome.failed_items} of {len(jobs)} {parent.named} job(s) could not be "
                            f"updated: {child.detail}")

        tops = {key.top for key in child.jobs}
        return Operation(key=child.key, kind=Kind.POLL, backend=parent.backend, priority=parent.op.priority,
                         due=now, action=action, job_ids=tops, parent=parent.op.key,
                         hang_after=HANG_AFTER_WAITS * parent.wait_seconds if parent.wait_seconds > 0 else None,
                         description=f"update {_describe(jobs, self._identify)} ({parent.named})")

    def _child_ended(self, child: Child, op: Operation) -> None:
        with self._cond:
            if op.state is State.CANCELLED:
                child.error = "cancelled before it ran"
            elif op.state is State.HUNG:
                child.hung = True
                child.error = op.last_error
                child.detail = f"{op.description} {op.last_error}"
            else:
                child.error = op.last_error
            for key in child.jobs:
                if self._in_flight.get(key) is child:
                    del self._in_flight[key]
            child.done.set()
            self._cond.notify_all()
        if self._on_child_done is not None:
            self._on_child_done(child, op)

    # -- fan-in -------------------------------------------------------------------

    def wait(self, parent: Parent) -> bool:
        """Wait for the parent's children, lending the parent's slot to one still waiting for a worker.

        Returns True when every child ended; False when the parent's
        deadline passed or monitoring stops first (the children left go on
        alone; one the parent lent its slot to adopts a slot of its own).
        """
        while True:
            with self._cond:
                pending = [c for c in parent.children() if not c.done.is_set()]
                if not pending:
                    return True
                over = self._runner.stopping or self._clock.now() >= parent.deadline
                lending = parent.helped is not None and not parent.helped.done.is_set()
            if over:
                self._stop_lending(parent)  # outside the lock: it takes the runner's
                return False
            if not lending and self._lend(parent, pending):
                continue
            with self._cond:
                if all(not c.done.is_set() for c in pending):
                    remaining = self._clock.time_until(parent.deadline)
                    self._cond.wait(min(1.0, remaining if remaining is not None else 1.0))

    def _lend(self, parent: Parent, pending: list[Child]) -> bool:
        """Start one pending child in the parent's slot, on a pool thread; whether one started."""
        for child in pending:
            if self._runner.lend(child.key) is not None:
                parent.helped = child
                return True
        return False

    def _stop_lending(self, parent: Parent) -> None:
        helped, parent.helped = parent.helped, None
        if helped is not None and not helped.done.is_set() and helped.op is not None:
            self._runner.adopt(helped.op)

    def in_flight(self) -> int:
        """How many jobs live children hold."""
        with self._cond:
            return len(self._in_flight)

    def holder(self, key: JobKey) -> Child | None:
        with self._cond:
            return self._in_flight.get(key)


def _error_text(error: BaseException) -> str:
    """``"KeyError: 'x'"``; an error whose text already names its class (Ganga's ``JobError``) once."""
    text = str(error)
    name = type(error).__name__
    return text if text.startswith(f"{name}:") else f"{name}: {text}"


def _describe(jobs: Sequence[Any], identify: Callable[[Any], JobKey]) -> str:
    keys = [identify(job) for job in jobs[:1]] + ([identify(jobs[-1])] if len(jobs) > 1 else [])
    names = [key.fqid for key in keys]
    if len(jobs) == 1:
        return f"job {names[0]}"
    return f"{len(jobs)} jobs ({names[0]}..{names[-1]})"
