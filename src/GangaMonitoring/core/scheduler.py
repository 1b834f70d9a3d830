"""The priority scheduler: a pure state machine over :class:`Operation` values.

No threads, no clock reads, no calls of the work itself: every method takes
``now`` from its caller, so ordering, aging, limits and merging are tested
with exact virtual times.  A thin runner (``runner.py``) drives it::

        submit(op, now) ──► WAITING ──(due <= now)──► READY ──pop_ready()──► RUNNING
                               ▲                        │ boost()              │
                               └──── retry(op, due) ◄───┴──────────────────────┤
                                                                    complete() ▼
                                                                             DONE

Ordering of READY operations.  Each pool has, per backend, a heap keyed by
``score = ready_at + priority * aging_seconds``.  Because every operation
ages at the same rate, comparing scores at any instant is the same as
comparing ``priority - waited / aging_seconds``: an operation climbs one
priority class for every ``aging_seconds`` it waits, and the heap key never
has to be recomputed.  Ties go to the earlier submission.

Limits.  A pool takes at most ``pool_capacity[pool]`` running operations; a
backend at most ``limits.limit(backend, pool)`` in each pool (configured,
or found by ``adaptive``; None: no limit), so a backlog of downloads never
holds back the backend's polls; and one key never runs twice at once (a
second request for the same work waits behind the first, merged into one
pending operation).

Helping.  A running operation that waits for operations of its own (a
poll waiting for its fan-out children) may :meth:`Scheduler.take` one of
them, to run on a thread of the pool in its own slot: the taken operation
is *borrowed*, it holds no pool or backend slot (its taker's slot is idle
meanwhile), so a pool full of waiting parents still makes progress.  When
the taker stops waiting first, the borrowed work :meth:`adopt` s a slot.

Hung work.  An operation running longer than its ``hang_after`` is
:meth:`declare_hung`: it leaves the running table (newer work of its key
may run), its breaker and limit count a service error, its listeners are
told it ended, and its slot goes back to the pool, whose thread pool has
``replacement_threads`` spare threads for it; once those are used, a hung
operation keeps its slot until it returns.  When its call finally returns,
:meth:`returned_late` ends it without counting it again::

        RUNNING ──(hang_after passed)──► HUNG ──(its call returns)──► DONE (outcome ignored)
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from dataclasses import dataclass, field
from collections.abc import Callable, Iterator, Mapping

from .adaptive import AdaptiveSettings, ConcurrencyLimits
from .breaker import BreakerBoard
from .recent import RecentCounts
from .retry import Fault
from .work import REPLACEMENT_THREADS, Kind, Operation, OpKey, PriorityClass, State

BackendLimit = Callable[[str, str], "int | None"]
"""(backend, pool) -> how many of that backend's operations may run in that pool at once."""

_HeapEntry = tuple[float, int, int, Operation]


@dataclass(frozen=True)
class HistoryEntry:
    """One state change of one operation, with the reason (for ``queues.why``)."""

    time: float
    key: OpKey
    event: str
    detail: str = ""


def outcome_key(op: Operation, outcome: str) -> tuple[str, str, str]:
    """How :attr:`Scheduler.recent` counts ``op`` ending with ``outcome``."""
    return (op.backend or "", "update" if op.parent is not None else op.kind.value, outcome)


@dataclass(frozen=True)
class HungCall:
    """A call that ran past its ``hang_after`` and has not returned (:meth:`Scheduler.hung_calls`)."""

    key: OpKey
    backend: str | None
    what: str
    """"update" for a poll's child, else the operation's kind."""
    description: str
    thread: str
    running_for: float
    replaced: bool
    """Its thread was replaced (its slot went back to the pool); False: it keeps its slot."""

    def __str__(self) -> str:
        whose = f"{self.backend}'s" if self.backend else "the session's"
        slot = "" if self.replaced else "; no replacement thread left, it keeps its slot"
        return (f"a call to {whose} {self.what} has hung for {duration(self.running_for)} in thread "
                f"{self.thread or '(not started)'} ({self.description or self.key}){slot}")


def duration(seconds: float) -> str:
    """``"40 s"``, ``"4 min"``, ``"2.5 h"``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(frozen=True)
class SchedulerStatistics:
    """A printable snapshot of the scheduler (see :meth:`Scheduler.statistics`)."""

    waiting: int
    ready: int
    running: int
    by_kind: dict[str, dict[str, int]]
    running_by_pool: dict[str, int]
    pool_capacity: dict[str, int]
    running_by_backend: dict[str, int]
    completed: dict[str, int]
    failed: dict[str, int]
    oldest_ready_age: float
    next_deadline_in: float | None
    hung: int = 0
    """Operations declared hung whose call has not returned yet (not counted in ``running``)."""

    def __str__(self) -> str:
        return (f"waiting={self.waiting} ready={self.ready} running={self.running} "
                f"oldest_ready_age={self.oldest_ready_age:.1f}s")


_Lane = tuple[str | None, Kind, bool, bool]
"""(backend, kind, asked for by a user, part of a parent): the operations a breaker treats alike."""


@dataclass
class _PoolQueue:
    """READY operations of one pool, one heap per lane.

    A breaker decides by backend and kind, and lets work a user asked for
    through, so within one lane it holds all or nothing: looking at each
    lane's top is exact, and a held lane costs one look however long it is
    (10,000 downloads held through an outage), while a user's request in the
    same backend is in a lane of its own and goes.
    """

    by_lane: dict[_Lane, list[_HeapEntry]] = field(default_factory=dict)

    def push(self, op: Operation, aging_seconds: float) -> None:
        assert op.ready_at is not None
        score = op.ready_at + int(op.priority) * aging_seconds
        lane = (op.backend, op.kind, op.priority is PriorityClass.USER, op.parent is not None)
        heapq.heappush(self.by_lane.setdefault(lane, []), (score, op.seq, op.version, op))


_NOT_ADAPTIVE = AdaptiveSettings(enabled=False)


class Scheduler:
    """Orders operations by priority class and age, within pool and backend limits."""

    def __init__(
        self,
        pool_capacity: Mapping[str, int],
        *,
        aging_seconds: float = 30.0,
        backend_limit: BackendLimit | None = None,
        breakers: BreakerBoard | None = None,
        limits: ConcurrencyLimits | None = None,
        history_size: int = 2000,
        replacement_threads: int = REPLACEMENT_THREADS,
    ) -> None:
        """``backend_limit``: fixed limits (a shortcut for ``limits`` that never adapt);
        ``replacement_threads``: per pool, hung operations whose slot goes back to the pool."""
        if aging_seconds <= 0:
            raise ValueError("aging_seconds must be positive")
        self.aging_seconds = float(aging_seconds)
        self._pool_capacity: dict[str, int] = dict(pool_capacity)
        if limits is None:
            fixed: BackendLimit = backend_limit or (lambda _backend, _pool: None)
            limits = ConcurrencyLimits(fixed, lambda _pool: _NOT_ADAPTIVE)
        self.limits = limits
        self._backend_limit: BackendLimit = limits.limit
        self.breakers = breakers if breakers is not None else BreakerBoard()
        self._pending: dict[OpKey, Operation] = {}
        self._running: dict[OpKey, Operation] = {}
        self._hung: dict[int, tuple[Operation, bool]] = {}
        """seq -> (a hung operation, whether it keeps its slot)."""
        self._replaced: Counter[str] = Counter()
        """pool -> hung operations whose thread the pool replaced (at most ``replacement_threads``)."""
        self._replacement_threads = max(0, int(replacement_threads))
        self._waiting: list[_HeapEntry] = []
        self._ready: dict[str, _PoolQueue] = {}
        self._running_by_pool: Counter[str] = Counter()
        self._running_by_backend: Counter[str | None] = Counter()
        self._running_by_backend_pool: Counter[tuple[str | None, str]] = Counter()
        self._completed: Counter[str] = Counter()
        self._failed: Counter[str] = Counter()
        self.history: deque[HistoryEntry] = deque(maxlen=history_size)
        self.recent = RecentCounts()
        """Outcomes of the last minutes by ``(backend, what, outcome)``: ``what`` is the kind, or
        "update" for a poll's child; ``outcome`` is "ok", "retried" or "failed" (see :func:`outcome_key`)."""

    # -- submission --------------------------------------------------------------

    def submit(self, op: Operation, now: float) -> Operation:
        """Add ``op``, or merge it into the pending operation with the same key.

        Merging keeps the earlier due time, the more urgent priority class and
        the union of job ids, so repeated requests never multiply work.
        Returns the operation that is now pending for the key.
        """
        existing = self._pending.get(op.key)
        if existing is not None:
            self._merge(existing, op, now)
            return existing
        op.state = State.WAITING
        op.submitted_at = now
        op.ready_at = None
        self._pending[op.key] = op
        self._enqueue(op, now)
        self._log(now, op.key, "submitted", f"{op.kind.value} due in {op.due - now:.1f}s")
        return op

    def _merge(self, existing: Operation, new: Operation, now: float) -> None:
        changed = False
        if new.priority < existing.priority:
            existing.priority = new.priority
            changed = True
        if new.due < existing.due:
            existing.due = new.due
            changed = True
        existing.add_job_ids(new.job_ids)
        if existing.action is None:
            existing.action = new.action
        if changed:
            self._reenqueue(existing, now)
            self._log(now, existing.key, "merged",
                      f"now {existing.priority.name}, due in {max(0.0, existing.due - now):.1f}s")

    def _enqueue(self, op: Operation, now: float) -> None:
        if op.due <= now:
            self._make_ready(op, now)
        else:
            op.state = State.WAITING
            op.waiting_reason = "not due yet"
            heapq.heappush(self._waiting, (op.due, op.seq, op.version, op))

    def _reenqueue(self, op: Operation, now: float) -> None:
        op.bump_version()  # invalidates the op's old heap entries
        op.ready_at = None
        self._enqueue(op, now)

    def _make_ready(self, op: Operation, now: float) -> None:
        op.state = State.READY
        # Age from the moment it was due (not from when we noticed), so a late
        # promotion does not cost the operation its place.
        if op.ready_at is None:
            op.ready_at = max(op.due, op.submitted_at) if op.due <= now else now
        if op.key in self._running:
            # Invariant: one key never runs twice at once.  Parked operations
            # are not in any heap; _release() queues them.
            op.waiting_reason = "the same work is running; it runs again after"
            return
        op.waiting_reason = "waiting for a free worker"
        self._ready.setdefault(op.pool, _PoolQueue()).push(op, self.aging_seconds)

    # -- dispatch ----------------------------------------------------------------

    def pop_ready(self, now: float) -> list[Operation]:
        """Start every operation that may run now; return them, most urgent first."""
        self._promote_due(now)
        started: list[Operation] = []
        for pool, queue in self._ready.items():
            free = self._pool_capacity.get(pool, 0) - self._running_by_pool[pool]
            while free > 0:
                op = self._pop_best(pool, queue, now)
                if op is None:
                    break
                self._start(op, now)
                started.append(op)
                free -= 1
        return started

    def _promote_due(self, now: float) -> None:
        while self._waiting and self._waiting[0][0] <= now:
            _, _, version, op = heapq.heappop(self._waiting)
            if op.version == version and op.state is State.WAITING:
                self._make_ready(op, now)

    def _pop_best(self, pool: str, queue: _PoolQueue, now: float) -> Operation | None:
        """Pop the best-scored operation whose backend, breaker and key let it run now."""
        best: tuple[float, int, _Lane] | None = None
        for lane, heap in queue.by_lane.items():
            top = self._valid_top(heap)
            if top is None:
                continue
            backend = lane[0]
            limit = self._limit_of(backend, pool)
            if limit is not None and self._running_by_backend_pool[backend, pool] >= limit:
                top.waiting_reason = f"backend {backend} at its limit ({limit} running on {pool})"
                continue
            held = self.breakers.reason(top, now)
            if held is not None:
                top.waiting_reason = held
                continue
            entry = heap[0]
            if best is None or (entry[0], entry[1]) < best[:2]:
                best = (entry[0], entry[1], lane)
        if best is None:
            return None
        return heapq.heappop(queue.by_lane[best[2]])[3]

    @staticmethod
    def _valid_top(heap: list[_HeapEntry]) -> Operation | None:
        """The first live entry of ``heap``, dropping stale ones on the way."""
        while heap:
            _, _, version, op = heap[0]
            if op.version == version and op.state is State.READY:
                return op
            heapq.heappop(heap)
        return None

    def _start(self, op: Operation, now: float, borrowed: bool = False) -> None:
        del self._pending[op.key]
        self._running[op.key] = op
        op.state = State.RUNNING
        op.started_at = now
        if op.first_started_at is None:
            op.first_started_at = now
        op.next_attempt()
        op.waiting_reason = ""
        op.borrowed = borrowed
        self.breakers.started(op, now)
        if not borrowed:
            self._hold_slot(op)
        self.limits.started(op, self._running_by_backend_pool[op.backend, op.pool])
        waited = now - (op.ready_at if op.ready_at is not None else now)
        where = "in the slot of the operation that waits for it" if borrowed else f"on {op.pool}"
        self._log(now, op.key, "started", f"{where} after {waited:.1f}s ready")

    def _hold_slot(self, op: Operation) -> None:
        self._running_by_pool[op.pool] += 1
        self._running_by_backend[op.backend] += 1
        self._running_by_backend_pool[op.backend, op.pool] += 1

    def _free_slot(self, op: Operation) -> None:
        self._running_by_pool[op.pool] -= 1
        self._running_by_backend[op.backend] -= 1
        self._running_by_backend_pool[op.backend, op.pool] -= 1

    def take(self, key: OpKey, now: float) -> Operation | None:
        """Start the pending operation for ``key`` in the caller's slot (helping), if it may.

        For a running operation that waits for ``key``'s: it runs that work
        itself instead of waiting idle (see "Helping" above).  The taken
        operation bypasses pool and backend limits (it uses its taker's
        slot) but not breakers; it is not taken if its key runs already, or
        if it is not due.  Returns the operation, now RUNNING and borrowed.
        """
        op = self._pending.get(key)
        if op is None or key in self._running or op.due > now:
            return None
        if op.state is State.WAITING:
            self._make_ready(op, now)
        if self.breakers.reason(op, now) is not None:
            return None
        self._start(op, now, borrowed=True)
        return op

    def adopt(self, op: Operation, now: float) -> bool:
        """A borrowed running operation whose taker stopped waiting holds a slot of its own from now.

        The pool may be over its capacity meanwhile: nothing else starts in
        it until it is under again.  Returns whether ``op`` was adopted.
        """
        if self._running.get(op.key) is not op or not op.borrowed:
            return False
        op.borrowed = False
        self._hold_slot(op)
        self._log(now, op.key, "adopted", "its taker stopped waiting: it holds a slot of its own")
        return True

    # -- hung work ---------------------------------------------------------------

    def hung_due(self, now: float) -> list[Operation]:
        """Running operations past their ``hang_after``."""
        return [op for op in self._running.values() if op.hang_after is not None and op.started_at is not None
                and now - op.started_at >= op.hang_after]

    def next_hang_at(self) -> float | None:
        """When the next running operation would be hung, if it has not ended by then."""
        times = [op.started_at + op.hang_after for op in self._running.values()
                 if op.hang_after is not None and op.started_at is not None]
        return min(times, default=None)

    def declare_hung(self, op: Operation, now: float) -> bool:
        """``op`` runs past its ``hang_after``: HUNG (see "Hung work" above).

        Returns whether its thread is replaced (its slot went back to the
        pool); False: every replacement thread of its pool is taken, and it
        keeps a slot until it returns.  The caller tells its listeners.
        """
        if self._running.get(op.key) is not op:
            raise ValueError(f"{op!r} is not running")
        del self._running[op.key]
        replaced = self._replaced[op.pool] < self._replacement_threads
        if replaced:
            self._replaced[op.pool] += 1
            if not op.borrowed:
                self._free_slot(op)
        elif op.borrowed:
            self._hold_slot(op)  # its thread counts against the pool until it returns
        self._hung[op.seq] = (op, not replaced)
        started = op.started_at if op.started_at is not None else now
        message = f"hung: still running after {duration(now - started)} (allowed {duration(op.hang_after or 0)})"
        self.breakers.failed(op, now, message, Fault.BACKEND)  # a service that never answers is unwell
        self.limits.finished(op, now, Fault.BACKEND, message)
        with op.locked():
            op.state = State.HUNG
            op.hung_at = now
            op.last_error = message
            op.bump_version()
        self._failed[op.kind.value] += 1
        self.recent.add(outcome_key(op, "hung"), now)
        where = "its thread replaced" if replaced else "no replacement thread left: it keeps its slot"
        self._log(now, op.key, "hung", f"in thread {op.thread or '?'} after {duration(now - started)}; {where}")
        self._unpark(op.key)
        return replaced

    def returned_late(self, op: Operation, now: float, error: str | None = None) -> None:
        """The call of hung ``op`` returned: it ends (DONE), counted once already, its outcome ignored."""
        entry = self._hung.pop(op.seq, None)
        if entry is None or entry[0] is not op:
            raise ValueError(f"{op!r} is not hung")
        if entry[1]:
            self._free_slot(op)
        else:
            self._replaced[op.pool] -= 1  # its thread is back: the pool's replacement is free again
        with op.locked():
            op.state = State.DONE
            op.finished_at = now
        started = op.started_at if op.started_at is not None else now
        self._log(now, op.key, "returned late",
                  f"after {duration(now - started)} ({error or 'fine'}); its outcome is ignored")

    def hung_call(self, op: Operation, now: float) -> HungCall:
        """Hung ``op`` as ``queues`` says it."""
        entry = self._hung.get(op.seq)
        if entry is None:
            raise ValueError(f"{op!r} is not hung")
        return HungCall(op.key, op.backend, "update" if op.parent is not None else op.kind.value, op.description,
                        op.thread, now - (op.started_at if op.started_at is not None else now), not entry[1])

    def hung_calls(self, now: float) -> list[HungCall]:
        """Hung operations whose call has not returned, longest first."""
        calls = [self.hung_call(op, now) for op, _ in self._hung.values()]
        return sorted(calls, key=lambda call: -call.running_for)

    # -- outcomes ----------------------------------------------------------------

    def complete(self, op: Operation, now: float, error: str | None = None, fault: Fault = Fault.JOB) -> None:
        """Mark a running operation finished (``error``: it failed for good; ``fault``: whose fault)."""
        self._release(op, now)
        if error is None:
            self.breakers.succeeded(op, now)
        else:
            self.breakers.failed(op, now, error, fault)
        self.limits.finished(op, now, fault if error else None, error or "")
        op.state = State.DONE
        op.last_error = error
        counter = self._failed if error else self._completed
        counter[op.kind.value] += 1
        self.recent.add(outcome_key(op, "failed" if error else "ok"), now)
        self._log(now, op.key, "failed" if error else "done", error or "")

    def abandon(self, op: Operation, now: float, reason: str) -> None:
        """End a running operation that the session's end cut short (CANCELLED): not a failure of its
        backend, its limits or its jobs, nor a success; what it was for is left to the next session."""
        self._release(op, now)
        self.limits.finished(op, now, None, "")
        op.state = State.CANCELLED
        op.last_error = reason
        self._log(now, op.key, "abandoned", reason)

    def retry(self, op: Operation, now: float, due: float, error: str, fault: Fault = Fault.JOB) -> Operation:
        """Put a failed running operation back, due at ``due`` (a backoff).

        When work for its key is already pending, the retry merges into that
        operation (as :meth:`submit` merges) and ``op`` ends (DONE); the
        operation returned is the one that will run.
        """
        self._release(op, now)
        self.breakers.failed(op, now, error, fault)
        self.limits.finished(op, now, fault, error)
        op.last_error = error
        op.due = due
        self.recent.add(outcome_key(op, "retried"), now)
        self._log(now, op.key, "retry", f"in {due - now:.1f}s after: {error}")
        existing = self._pending.get(op.key)
        if existing is not None:
            # the retry is folded into the pending work of its key; the failed operation itself is over
            # (never left RUNNING outside the running table: a phantom nobody would ever end)
            self._merge(existing, op, now)
            with existing.locked():
                existing.attempts = max(existing.attempts, op.attempts)
                existing.last_error = error
            op.state = State.DONE
            op.bump_version()
            self._log(now, op.key, "merged into pending", f"its retry is the pending {existing.kind.value}")
            return existing
        op.bump_version()
        op.submitted_at = now
        op.ready_at = None
        self._pending[op.key] = op
        self._enqueue(op, now)
        return op

    def _release(self, op: Operation, now: float) -> None:
        if self._running.get(op.key) is not op:
            raise ValueError(f"{op!r} is not running")
        del self._running[op.key]
        if not op.borrowed:
            self._free_slot(op)
        op.finished_at = now
        self._unpark(op.key)

    def _unpark(self, key: OpKey) -> None:
        """``key`` no longer runs: pending work parked behind it is queued."""
        parked = self._pending.get(key)
        if parked is not None and parked.state is State.READY:
            self._ready.setdefault(parked.pool, _PoolQueue()).push(parked, self.aging_seconds)
            parked.waiting_reason = "waiting for a free worker"

    def cancel(self, key: OpKey, now: float, reason: str = "") -> bool:
        """Withdraw the pending operation for ``key``; running work is not interrupted."""
        op = self._pending.pop(key, None)
        if op is None:
            return False
        op.state = State.CANCELLED
        op.bump_version()
        self._log(now, key, "cancelled", reason)
        return True

    def boost(self, match: Callable[[Operation], bool], now: float, reason: str = "") -> list[Operation]:
        """Move pending operations for which ``match(op)`` holds to the front (user class, due now)."""
        boosted = [op for op in self._pending.values() if match(op)]
        for op in boosted:
            op.priority = PriorityClass.USER
            op.due = min(op.due, now)
            self._reenqueue(op, now)
            self._log(now, op.key, "boosted", reason or "a user asked for this work")
        return boosted

    # -- inspection --------------------------------------------------------------

    def reason(self, op: Operation, now: float) -> str:
        """Why ``op`` is where it is, right now (for ``queues.why``)."""
        if op.state is State.RUNNING:
            return f"running on {op.pool} for {now - (op.started_at or now):.1f} s"
        if op.state is State.HUNG:
            return (f"hung for {duration(now - (op.started_at or now))} in thread {op.thread or '?'}; "
                    "its jobs went to newer work, its late outcome is ignored")
        if op.state is State.WAITING:
            retry = f" (retry {op.attempts + 1} after: {op.last_error})" if op.last_error else ""
            return f"due in {max(0.0, op.due - now):.1f} s{retry}"
        if op.state is not State.READY:
            return op.state.value
        if op.key in self._running:
            return "the same work is running; it runs again after"
        limit = self._limit_of(op.backend, op.pool)
        if limit is not None and self._running_by_backend_pool[op.backend, op.pool] >= limit:
            return f"backend {op.backend} at its limit ({limit} running on {op.pool})"
        held = self.breakers.reason(op, now)
        if held is not None:
            return held
        capacity = self._pool_capacity.get(op.pool, 0)
        if self._running_by_pool[op.pool] >= capacity:
            return f"all {capacity} {op.pool} workers busy"
        return "about to start"

    def next_deadline(self) -> float | None:
        """When the next WAITING operation falls due (None: nothing waits)."""
        while self._waiting:
            due, _, version, op = self._waiting[0]
            if op.version == version and op.state is State.WAITING:
                return due
            heapq.heappop(self._waiting)
        return None

    def next_wakeup(self, now: float) -> float | None:
        """When dispatch may next have something to start: a due time or a breaker's probe."""
        probe = self.breakers.next_probe_at()
        if probe is not None and probe <= now:
            probe = None  # already allowed: the probe starts as soon as work for it is ready
        times = [t for t in (self.next_deadline(), probe) if t is not None]
        return min(times, default=None)

    def _limit_of(self, backend: str | None, pool: str) -> int | None:
        """``backend``'s limit in ``pool``; the session's own work (no backend) has none."""
        return None if backend is None else self._backend_limit(backend, pool)

    def find(self, key: OpKey) -> Operation | None:
        """The pending operation for ``key``, else the running one, else None."""
        return self._pending.get(key) or self._running.get(key)

    def pending(self) -> Iterator[Operation]:
        return iter(list(self._pending.values()))

    def running(self) -> Iterator[Operation]:
        return iter(list(self._running.values()))

    def running_count(self, backend: str) -> int:
        return self._running_by_backend[backend]

    def is_idle(self) -> bool:
        return not self._pending and not self._running

    def set_pool_capacity(self, pool: str, capacity: int) -> None:
        self._pool_capacity[pool] = max(0, int(capacity))

    def statistics(self, now: float) -> SchedulerStatistics:
        by_kind: dict[str, dict[str, int]] = {}
        waiting = ready = 0
        oldest_ready = now
        for op in self._pending.values():
            counts = by_kind.setdefault(op.kind.value, Counter())
            counts[op.state.value] += 1
            if op.state is State.READY:
                ready += 1
                if op.ready_at is not None:
                    oldest_ready = min(oldest_ready, op.ready_at)
            else:
                waiting += 1
        for op in self._running.values():
            by_kind.setdefault(op.kind.value, Counter())[State.RUNNING.value] += 1
        deadline = self.next_deadline()
        return SchedulerStatistics(
            waiting=waiting,
            ready=ready,
            running=len(self._running),
            by_kind={kind: dict(counts) for kind, counts in by_kind.items()},
            running_by_pool={k: v for k, v in self._running_by_pool.items() if v},
            pool_capacity=dict(self._pool_capacity),
            running_by_backend={k: v for k, v in self._running_by_backend.items() if v and k is not None},
            completed=dict(self._completed),
            failed=dict(self._failed),
            oldest_ready_age=now - oldest_ready,
            next_deadline_in=None if deadline is None else max(0.0, deadline - now),
            hung=len(self._hung),
        )

    def _log(self, now: float, key: OpKey, event: str, detail: str = "") -> None:
        self.history.append(HistoryEntry(now, key, event, detail))

    def __repr__(self) -> str:
        return (f"<Scheduler pending={len(self._pending)} running={len(self._running)} "
                f"aging={self.aging_seconds}s>")


__all__ = ["Scheduler", "SchedulerStatistics", "HistoryEntry", "HungCall", "Kind", "Operation",
           "PriorityClass", "State"]
