"""Finding the bad items of a failed batch call by halving it.

A backend's ``updateMonitoringInformation(jobs)`` loops over its jobs, and
one job that raises (a corrupt status file, a job the service forgot) ends
the whole call.  Halving a failed batch finds the k bad items of n in
O(k log n) calls while every good item is still processed.  A call that
fails for every item (the service is down) would cost 2n calls, so the
calls are bounded by a :class:`CallBudget` (shared by every batch of one
poll): batches left unresolved when it runs out are reported failed whole.

A failed call may have done part of its work before it raised (moved,
even finalised, the items before the bad one).  Given ``unchanged``, the
halves of a failed batch hold only the items still as they were when that
batch's call began: an item the failed call moved is not given to another
call (a backend that finalises from its service's state alone would fetch
its output twice), and is reported ``skipped``.

Pure: no clock, no threads of its own; the budget is safe to share
between threads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from collections.abc import Callable, Sequence

T = TypeVar("T")

Unchanged = Callable[[Sequence[T]], Callable[[T], bool]]
"""``unchanged(batch)``, taken just before ``batch`` is called: a test of whether an item is still as it
was then (still due for a call)."""


class CallBudget:
    """How many calls the isolation of one poll may still make (thread-safe)."""

    def __init__(self, calls: int) -> None:
        self._left = calls
        self._lock = threading.Lock()

    def spend(self) -> int:
        """Spend one call; returns how many are left after it."""
        with self._lock:
            self._left -= 1
            return self._left

    @property
    def left(self) -> int:
        return self._left

    def __repr__(self) -> str:
        return f"<CallBudget left={self._left}>"


@dataclass
class Isolated(Generic[T]):
    """The outcome of :func:`isolate`: did any call succeed, and which batches failed, with their errors."""

    succeeded: bool = False
    failures: list[tuple[list[T], BaseException]] = field(default_factory=list)
    skipped: list[T] = field(default_factory=list)
    """Items of a failed batch that its call moved (``unchanged``): left out of its halves."""

    @property
    def failed_items(self) -> int:
        return sum(len(batch) for batch, _ in self.failures)


def _never(_error: BaseException) -> bool:
    return False


def isolate(call: Callable[[list[T]], Any], items: Sequence[T], budget: CallBudget,
            bug: Callable[[BaseException], bool] = _never, unchanged: Unchanged[T] | None = None) -> Isolated[T]:
    """Call ``call(items)``; when it raises, halve and retry each half, down to single items.

    Every item ends in exactly one successful call, one failed batch, or
    ``skipped``: given ``unchanged``, a failed batch's halves keep only the
    items ``unchanged(batch)`` (taken before its call) still passes, so an
    item is never called again once a failed call changed it (a batch
    whose every item changed is reported failed, not re-run).
    The first call is always made; a half is called only while the budget
    has calls left, and is otherwise reported failed whole with the error of
    the batch it came from, so the calls made never exceed the budget by
    more than that first call.  A batch is split only while the budget
    leaves room for both halves; otherwise it is reported failed with its
    last error.  An error for which ``bug`` is true is the caller's own bug,
    no item's: it is raised at once.
    """
    outcome: Isolated[T] = Isolated()
    _isolate(call, list(items), budget, outcome, bug, unchanged, None)
    return outcome


def _isolate(call: Callable[[list[T]], Any], items: list[T], budget: CallBudget, outcome: Isolated[T],
             bug: Callable[[BaseException], bool], unchanged: Unchanged[T] | None,
             error: BaseException | None) -> None:
    if not items:
        return
    if error is not None and budget.left <= 0:  # a half, and nothing left to call it with
        outcome.failures.append((items, error))
        return
    still = unchanged(items) if unchanged is not None and len(items) > 1 else None
    left = budget.spend()
    try:
        call(items)
    except Exception as err:  # noqa: BLE001 - any backend error; the caller reports it
        if bug(err):
            raise
        single = len(items) <= 1
        if still is not None:
            verdicts = [(item, still(item)) for item in items]
            kept = [item for item, due in verdicts if due]
            if not kept:  # every item moved before the error: the error is the batch's own, none is re-run
                outcome.failures.append((items, err))
                return
            outcome.skipped += [item for item, due in verdicts if not due]
            items = kept
        if single or left < 2:
            outcome.failures.append((items, err))
            return
        middle = len(items) // 2
        _isolate(call, items[:middle], budget, outcome, bug, unchanged, err)
        _isolate(call, items[middle:], budget, outcome, bug, unchanged, err)
        return
    outcome.succeeded = True
