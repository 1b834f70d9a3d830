"""The collector stays out of what the user typed (``_core/collector.py``): held off, then run; survivors frozen."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from GangaMonitoring._core.collector import COLLECTOR_OFF, CollectorOff, FreezeSurvivors


class Collections:
    """Records every collection's start (``gc.callbacks``) while installed."""

    def __init__(self) -> None:
        self.started: list[int] = []

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started.append(info["generation"])


@pytest.fixture
def collections() -> Iterator[Collections]:
    assert gc.isenabled()
    seen = Collections()
    gc.callbacks.append(seen)
    try:
        yield seen
    finally:
        gc.callbacks.remove(seen)
        gc.enable()


def come_due() -> list[list[int]]:
    """Allocate enough container objects to pass generation 0's threshold several times over."""
    return [[n] for n in range(5 * gc.get_threshold()[0])]


def test_a_collection_due_while_held_starts_right_after(collections: Collections) -> None:
    with COLLECTOR_OFF.held():
        kept = come_due()
        assert collections.started == [] and not gc.isenabled()
    assert gc.isenabled()
    kept.append([0])  # the first allocation after the hold: the collection that came due starts
    assert collections.started, "the collection due during the hold never started"


def test_holders_share_one_hold_across_threads(collections: Collections) -> None:
    hold = CollectorOff()
    other_in, other_may_leave, other_left = threading.Event(), threading.Event(), threading.Event()

    def other() -> None:
        with hold.held():
            other_in.set()
            other_may_leave.wait()
        other_left.set()

    with hold.held():
        thread = threading.Thread(target=other)
        thread.start()
        other_in.wait()
    assert not gc.isenabled()  # we left first: the other thread still holds it
    kept = come_due()
    assert collections.started == []
    other_may_leave.set()
    other_left.wait()
    thread.join()
    assert gc.isenabled() and hold.entered == 2
    kept.append([0])
    assert collections.started


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    try:
        with CollectorOff().held():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_survivors_of_a_full_collection_are_frozen_until_stop() -> None:
    assert gc.get_freeze_count() == 0
    freezer = FreezeSurvivors()
    freezer.start()
    try:
        freezer.start()  # idempotent: one callback
        gc.collect(1)
        assert gc.get_freeze_count() == 0 and freezer.freezes == 0  # a young collection freezes nothing
        gc.collect()
        assert gc.get_freeze_count() > 0 and freezer.freezes == 1
        assert gc.callbacks.count(freezer._after_collection) == 1
    finally:
        freezer.stop()
    assert gc.get_freeze_count() == 0 and freezer._after_collection not in gc.callbacks
    gc.collect()
    assert gc.get_freeze_count() == 0  # stopped: no more freezes
    freezer.stop()  # idempotent
