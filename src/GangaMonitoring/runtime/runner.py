"""The thin threaded runner: one dispatcher thread between Scheduler and Pools.

::

    submit() ─► [lock] Scheduler ◄── plan(now) (the poll planner, each wake)
                   │ pop_ready(now)
                   ▼
              Pools.submit(op.pool, _execute, op) ── worker runs op.action(op)
                   │ outcome
                   ▼
              [lock] complete / retry(policy) ─► listeners, wake

    each wake: running work past its hang_after ─► [lock] declare_hung ─► listeners
               (its call returning later: [lock] returned_late, outcome ignored)

All scheduling decisions are the Scheduler's; this module only turns them
into thread activity.  No operation's action runs in a thread that another
operation's progress depends on: work a waiting operation takes
(:meth:`SchedulerRunner.lend`) runs on a pool thread of its own, so the
taker keeps its own deadline, and a call that never returns is declared
hung instead of holding its key, its slot and its listeners for ever.  The dispatcher sleeps until the next deadline, a
submission, a completion or ``wake()``; with a ``FakeClock`` a test jumps
the clock and calls ``wake()``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..core.adaptive import LimitStatistics
from ..core.breaker import LOCAL_DISK, BreakerSnapshot, BreakerState
from ..core.clock import Clock
from .gil import PromptTurn
from .pools import Pools, PoolsClosed
from ..core.retry import RetryPolicy, fault_of
from ..core.scheduler import HistoryEntry, HungCall, Scheduler, SchedulerStatistics
from ..core.work import TERMINAL_STATES, Kind, Operation, OpKey, State

Listener = Callable[[Operation], None]

log = logging.getLogger("GangaMonitoring.runner")


class SchedulerRunner:
    """Feeds ready operations to the pools and applies their outcomes."""

    def __init__(
        self,
        scheduler: Scheduler,
        pools: Pools,
        clock: Clock,
        policy_for: Callable[[Kind], RetryPolicy | None],
        *,
        plan: Callable[[float], None] | None = None,
        retry_allowed: Callable[[Operation], bool] | None = None,
        max_sleep: float = 1.0,
        name: str = "GangaMon-dispatch",
        turn: PromptTurn | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.pools = pools
        self.clock = clock
        self._policy_for = policy_for
        self._plan = plan
        self._retry_allowed = retry_allowed
        """Asked under the lock before a failed operation is retried (False: it ends failed); None: always."""
        self._max_sleep = max_sleep
        self._turn = turn
        """While the prompt's turn is on, dispatch plans nothing and workers start nothing (bounded)."""
        self._cond = threading.Condition()
        self._stopping = False
        self._listeners: dict[OpKey, list[Listener]] = {}
        self._thread = threading.Thread(target=self._dispatch_loop, name=name, daemon=True)

    # -- life cycle --------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stopping

    def wake(self) -> None:
        """Re-run planning and dispatch now (after a clock jump or an index change)."""
        with self._cond:
            self._cond.notify_all()

    # -- submission --------------------------------------------------------------

    def submit(self, op: Operation, listener: Listener | None = None) -> Operation:
        """Hand ``op`` to the scheduler; ``listener(op)`` is called when it ends."""
        with self._cond:
            pending = self.scheduler.submit(op, self.clock.now())
            if listener is not None:
                self._listeners.setdefault(pending.key, []).append(listener)
            self._cond.notify_all()
        return pending

    def lend(self, key: OpKey) -> Operation | None:
        """Start the pending operation for ``key`` now, in the caller's slot, if the scheduler lets it be taken.

        For a running operation that waits for ``key``'s work (``Scheduler.take``):
        the work runs on a thread of its pool (never in the caller's thread, so
        the caller's wait keeps its deadline however long the work takes).
        Returns the started operation (borrowed), or None.  A caller that stops
        waiting before it ended calls :meth:`adopt`.
        """
        with self._cond:
            if self._stopping:
                return None
            op = self.scheduler.take(key, self.clock.now())
        if op is not None:
            self._hand_to_pool(op)
        return op

    def adopt(self, op: Operation) -> None:
        """The taker of borrowed ``op`` stops waiting: ``op`` holds a slot of its own (``Scheduler.adopt``)."""
        with self._cond:
            self.scheduler.adopt(op, self.clock.now())

    def hung_calls(self) -> list[HungCall]:
        """Calls declared hung that have not returned (``Scheduler.hung_calls``)."""
        with self._cond:
            return self.scheduler.hung_calls(self.clock.now())

    # -- inspection from any thread (the Scheduler itself is not thread-safe) -----

    def statistics(self) -> SchedulerStatistics:
        with self._cond:
            return self.scheduler.statistics(self.clock.now())

    def history(self) -> list[HistoryEntry]:
        with self._cond:
            return list(self.scheduler.history)

    def pending(self) -> list[Operation]:
        with self._cond:
            return list(self.scheduler.pending())

    def running(self) -> list[Operation]:
        with self._cond:
            return list(self.scheduler.running())

    def is_idle(self) -> bool:
        with self._cond:
            return self.scheduler.is_idle()

    def wait_for_finish(self, timeout: float) -> None:
        """Return when an operation ends (or anything else wakes the dispatcher), or after ``timeout``."""
        with self._cond:
            self._cond.wait(timeout)

    def note(self, backend: str, what: str, outcome: str) -> None:
        """Count an event the scheduler does not see (a request a client retried on its own)."""
        with self._cond:
            self.scheduler.recent.add((backend, what, outcome), self.clock.now())

    def recent(self) -> dict[tuple[str, str, str], int]:
        """Counts of the last minutes by (backend, what, outcome) (``Scheduler.recent``)."""
        with self._cond:
            return self.scheduler.recent.totals(self.clock.now())  # type: ignore[return-value]

    def hold(self, name: str, reason: str) -> None:
        """Hold the work breaker ``name`` guards (e.g. the local disk's) until :meth:`release`."""
        with self._cond:
            if self.scheduler.breakers.hold(name, self.clock.now(), reason):
                log.warning("monitoring: %s; held work waits", reason)

    def release(self, name: str, reason: str) -> None:
        with self._cond:
            if self.scheduler.breakers.release(name):
                log.warning("monitoring: %s; held work resumes", reason)
                self._cond.notify_all()

    def limit_statistics(self) -> list[LimitStatistics]:
        """Each backend's concurrency limit per pool, and why it is what it is."""
        with self._cond:
            return self.scheduler.limits.statistics()

    def breaker_statistics(self) -> list[BreakerSnapshot]:
        """Every breaker (backends', the local disk's, credentials'), by name."""
        with self._cond:
            now = self.clock.now()
            breakers = self.scheduler.breakers.breakers
            return [breakers[name].snapshot(now) for name in sorted(breakers)]

    def breaker_states(self) -> dict[str, str]:
        """Each breaker, described ("closed", "open for 40 s, next probe in 20 s", ...)."""
        return {b.name: b.describe() for b in self.breaker_statistics()}

    def breaker_holds(self) -> dict[str, str]:
        """The breakers a check holds (full disk, missing credential), each with the check's reason."""
        return {b.name: b.last_error or "" for b in self.breaker_statistics() if b.held}

    def explain(self, match: Callable[[Operation], bool]) -> list[tuple[Operation, str]]:
        """Pending and running operations for which ``match`` holds, each with why it is where it is."""
        with self._cond:
            now = self.clock.now()
            ops = [*self.scheduler.running(), *self.scheduler.pending()]
            return [(op, self.scheduler.reason(op, now)) for op in ops if match(op)]

    def boost(self, match: Callable[[Operation], bool], reason: str) -> list[Operation]:
        """Move pending operations for which ``match`` holds to the front (user class, due now)."""
        with self._cond:
            boosted = self.scheduler.boost(match, self.clock.now(), reason)
            if boosted:
                self._cond.notify_all()
        return boosted

    def cancel(self, key: OpKey, reason: str) -> bool:
        """Withdraw pending work for ``key``; its listeners are told at once."""
        with self._cond:
            op = self.scheduler.find(key)
            cancelled = self.scheduler.cancel(key, self.clock.now(), reason)
            listeners = self._listeners_for(op) if cancelled and op is not None else []
        for listener in listeners:
            listener(op)  # type: ignore[arg-type]
        return cancelled

    # -- the dispatcher ----------------------------------------------------------

    def _dispatch_loop(self) -> None:
        while True:
            if self._turn is not None:
                self._turn.wait()
            with self._cond:
                if self._stopping:
                    return
                hung = self._declare_hung(self.clock.now())
                ready = self._plan_and_pop()
                if not ready and not hung:
                    self._cond.wait(self._sleep_time())
                    continue
            for op, listeners in hung:
                self._tell(op, listeners)
            for op in ready:
                self._hand_to_pool(op)

    def _declare_hung(self, now: float) -> list[tuple[Operation, list[Listener]]]:
        """Under the lock: running work past its ``hang_after`` is hung; returns it with the listeners to tell."""
        declared = []
        for op in self.scheduler.hung_due(now):
            self.scheduler.declare_hung(op, now)
            if op.thread:
                self.pools.mark_hung(op.pool, op.thread)
            log.warning("monitoring: %s; its work goes to the next poll", self.scheduler.hung_call(op, now))
            declared.append((op, self._listeners_for(op)))
        if declared:
            self._cond.notify_all()
        return declared

    def _plan_and_pop(self) -> list[Operation]:
        now = self.clock.now()
        if self._plan is not None:
            try:
                self._plan(now)
            except Exception:  # planning must never stop dispatch
                log.exception("monitoring planner failed; dispatch continues")
        return self.scheduler.pop_ready(now)

    def _sleep_time(self) -> float:
        now = self.clock.now()
        times = [t for t in (self.scheduler.next_wakeup(now), self.scheduler.next_hang_at()) if t is not None]
        until = self.clock.time_until(min(times, default=None))
        return self._max_sleep if until is None else min(until, self._max_sleep)

    def _hand_to_pool(self, op: Operation) -> None:
        try:
            self.pools.submit(op.pool, self._execute, op, description=op.description or repr(op.key))
        except RuntimeError as error:  # pools shut down under us
            self._finish(op, error)

    def _execute(self, op: Operation) -> None:
        op.thread = threading.current_thread().name
        error: BaseException | None = None
        if self._turn is not None:
            self._turn.wait()
        try:
            if op.action is not None:
                op.action(op)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the policy
            error = exc
        self._finish(op, error)

    def _finish(self, op: Operation, error: BaseException | None) -> None:
        with self._cond:
            now = self.clock.now()
            if op.state is State.HUNG:  # its listeners were told when it was declared hung
                message = None if error is None else f"{type(error).__name__}: {error}"
                self.scheduler.returned_late(op, now, message)
                log.warning("monitoring: hung %s returned after all (%s); its outcome is ignored",
                            op.description or op.key, message or "fine")
                self._cond.notify_all()
                return
            guarding = [name for name in (op.backend, LOCAL_DISK) if name is not None]
            before = {name: self.scheduler.breakers.state_of(name) for name in guarding}
            if error is None:
                self.scheduler.complete(op, now)
            elif isinstance(error, PoolsClosed):  # the session ends: nobody's failure, the next session's work
                self.scheduler.abandon(op, now, f"{type(error).__name__}: {error}")
            else:
                self._apply_policy(op, error, now)
            for name, state in before.items():
                self._log_breaker_change(name, state)
            listeners = self._listeners_for(op)
            self._cond.notify_all()
        self._tell(op, listeners)

    @staticmethod
    def _tell(op: Operation, listeners: list[Listener]) -> None:
        for listener in listeners:
            try:
                listener(op)
            except Exception:
                log.exception("listener of %r failed", op)

    def _apply_policy(self, op: Operation, error: BaseException, now: float) -> None:
        message = f"{type(error).__name__}: {error}"
        try:
            # a child is not retried on its own: its parent's outcome carries its failure
            policy = self._policy_for(op.kind) if op.parent is None else None
            allowed = policy is not None and not self._stopping
            withheld = allowed and self._retry_allowed is not None and not self._retry_allowed(op)
            due = policy.next_due(op, error, now) if allowed and not withheld else None  # type: ignore[union-attr]
        except Exception:  # a broken policy must not leave the operation running forever
            log.exception("retry policy for %r failed; giving up on it", op)
            due, withheld = None, False
        if due is None:
            if withheld:
                log.info("monitoring %s failed and is not retried now (%s)", op.description or op.key, message)
            elif op.parent is None:
                log.warning("monitoring %s gave up after %d attempt(s): %s", op.description or op.key,
                            op.attempts, message)
            self.scheduler.complete(op, now, error=message, fault=fault_of(error))
        else:
            log.debug("monitoring %s failed (%s); retry in %.1fs", op.key, message, due - now)
            self.scheduler.retry(op, now, due, message, fault=fault_of(error))

    def _log_breaker_change(self, name: str, before: BreakerState) -> None:
        """One line when a breaker opens or closes (not one per failed request)."""
        breaker = self.scheduler.breakers.breakers.get(name)
        if breaker is None or breaker.state is before:
            return
        disk = name == LOCAL_DISK
        if breaker.state is BreakerState.CLOSED:
            log.warning("monitoring: %s; held work resumes",
                        "the local disk has room again" if disk else f"backend {name} answers again")
        elif before is BreakerState.CLOSED:
            held = "every output retrieval and finalisation waits" if disk else "its polls and downloads wait"
            log.warning("monitoring: %s (%s); %s, next try in %.0f s",
                        "the local disk is full" if disk else f"backend {name} failed {breaker.consecutive_failures}"
                        " times in a row", breaker.last_error, held, breaker.probe_interval)
        elif breaker.state is BreakerState.OPEN:
            log.info("monitoring: %s still failing; next try in %.0f s", name, breaker.probe_interval)

    def _listeners_for(self, op: Operation) -> list[Listener]:
        """Listeners to call now: those of a key whose work is over (not requeued; hung counts as over)."""
        if (op.state not in TERMINAL_STATES and op.state is not State.HUNG) or self.scheduler.find(op.key) is not None:
            return []
        return self._listeners.pop(op.key, [])
