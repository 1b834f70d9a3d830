"""Counts of the last minutes (``core/recent.py``) and what the scheduler counts in them."""

from __future__ import annotations

import pytest

from GangaMonitoring.core.recent import RecentCounts
from GangaMonitoring.core.retry import Fault
from GangaMonitoring.core.scheduler import Scheduler
from GangaMonitoring.core.work import Kind, Operation, OpKey, PriorityClass


def test_events_are_counted_for_the_span_then_forgotten() -> None:
    recent = RecentCounts(span=60.0, bucket=10.0)
    recent.add("a", 0.0)
    recent.add("a", 5.0, count=2)
    recent.add("b", 25.0)
    assert recent.totals(25.0) == {"a": 3, "b": 1}
    assert recent.totals(59.9) == {"a": 3, "b": 1}
    assert recent.totals(60.0) == {"b": 1}  # the bucket [0, 10) is older than 60 s
    assert recent.totals(85.0) == {}
    recent.add("a", 86.0)
    assert recent.totals(86.0) == {"a": 1}
    assert len(recent._buckets) == 1  # memory: the buckets of the span, no more


def test_a_late_reading_of_the_clock_counts_in_the_newest_bucket() -> None:
    recent = RecentCounts(span=60.0, bucket=10.0)
    recent.add("a", 30.0)
    recent.add("a", 12.0)  # read before the add at 30.0, added after it
    assert recent.totals(30.0) == {"a": 2}


def test_a_bucket_longer_than_the_span_is_refused() -> None:
    with pytest.raises(ValueError, match="bucket"):
        RecentCounts(span=10.0, bucket=20.0)


def op(key: str, kind: Kind = Kind.POLL, parent: str | None = None) -> Operation:
    return Operation(key=OpKey(key), kind=kind, backend="B", priority=PriorityClass.POLL, due=0.0,
                     parent=OpKey(parent) if parent else None)


def test_the_scheduler_counts_what_ended_how_per_backend() -> None:
    s = Scheduler({"poll": 4, "io": 4})
    for o in (op("p1"), op("p2"), op("c1", parent="p1"), op("r1", Kind.RETRIEVE)):
        s.submit(o, 0.0)
    running = {o.key.what: o for o in s.pop_ready(0.0)}
    s.complete(running["p1"], 1.0)
    s.retry(running["p2"], 1.0, due=2.0, error="HTTP 500", fault=Fault.BACKEND)
    s.complete(running["c1"], 1.0, error="JobError: gone", fault=Fault.JOB)
    s.complete(running["r1"], 1.0)
    assert s.recent.totals(1.0) == {("B", "poll", "ok"): 1, ("B", "poll", "retried"): 1,
                                    ("B", "update", "failed"): 1, ("B", "retrieve", "ok"): 1}
    assert s.recent.totals(1000.0) == {}
