"""Bisection of a failed batch call, on plain data: items a failed call already moved are not re-run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from GangaMonitoring.runtime.isolate import CallBudget, isolate


class Service:
    """Items are names with a state; ``update`` finalises every item the service says is done, in order,
    and raises at a bad one: the items before it are finalised by the call that fails."""

    def __init__(self, done: set[str], bad: set[str], items: Sequence[str]) -> None:
        self.state = dict.fromkeys(items, "running")
        self.done, self.bad = done, bad
        self.finalised: Counter[str] = Counter()
        self.calls: list[list[str]] = []

    def update(self, batch: list[str]) -> None:
        self.calls.append(list(batch))
        for item in batch:
            if item in self.bad:
                raise RuntimeError(f"{item} is corrupt")
            if item in self.done:  # from the service's state alone, whatever the local state
                self.finalised[item] += 1
                self.state[item] = "completed"

    def unchanged(self, batch: Sequence[str]) -> Callable[[str], bool]:
        before = {item: self.state[item] for item in batch}
        return lambda item: self.state[item] == before[item] == "running"


def test_without_the_filter_a_bisected_call_finalises_an_item_twice() -> None:
    """The defect the filter removes: [a, b] fails at b after finalising a; its half [a] finalises a again."""
    service = Service(done={"a"}, bad={"b"}, items=["a", "b"])
    isolate(service.update, ["a", "b"], CallBudget(10))
    assert service.calls == [["a", "b"], ["a"], ["b"]]
    assert service.finalised["a"] == 2


def test_the_halves_of_a_failed_call_leave_out_the_items_it_moved() -> None:
    service = Service(done={"a"}, bad={"b"}, items=["a", "b"])
    outcome = isolate(service.update, ["a", "b"], CallBudget(10), unchanged=service.unchanged)
    assert service.finalised["a"] == 1
    assert service.calls == [["a", "b"], ["b"]]  # b is still called alone: its failure is its own
    assert outcome.skipped == ["a"]
    assert [batch for batch, _ in outcome.failures] == [["b"]]
    assert not outcome.succeeded


def test_every_item_ends_once_called_failed_or_skipped() -> None:
    items = [f"j{i}" for i in range(16)]
    done = {"j0", "j1", "j5", "j9", "j14"}
    service = Service(done=done, bad={"j3", "j12"}, items=items)
    outcome = isolate(service.update, items, CallBudget(40), unchanged=service.unchanged)
    assert all(n == 1 for n in service.finalised.values()), service.finalised
    assert set(service.finalised) == done
    failed = [item for batch, _ in outcome.failures for item in batch]
    assert sorted(failed) == ["j12", "j3"]
    # an item moved by a failed call is skipped; each item is in at most one of the outcomes
    assert set(outcome.skipped) <= done and not set(outcome.skipped) & set(failed)
    assert outcome.succeeded


def test_a_failed_batch_whose_every_item_moved_is_reported_failed_not_re_run() -> None:
    calls: list[list[int]] = []
    state = {1: "running", 2: "running"}

    def update(batch: list[int]) -> None:
        calls.append(batch)
        for item in batch:
            state[item] = "completed"
        raise RuntimeError("raised after the work was done")

    def unchanged(batch: Sequence[int]) -> Callable[[int], bool]:
        before = dict((item, state[item]) for item in batch)
        return lambda item: state[item] == before[item]

    outcome = isolate(update, [1, 2], CallBudget(10), unchanged=unchanged)
    assert calls == [[1, 2]]
    assert [batch for batch, _ in outcome.failures] == [[1, 2]] and outcome.skipped == []
