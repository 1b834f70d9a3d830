"""The active-job index: transitions, order by age, reconciliation."""

from __future__ import annotations

import threading

from GangaMonitoring.core.index import ActiveJobIndex


def test_tracks_only_monitored_states_and_keeps_age_order() -> None:
    index = ActiveJobIndex()
    assert index.update(1, "Local", "submitted", now=10)
    assert index.update(2, "Local", "submitted", now=20)
    assert not index.update(3, "Local", "new", now=20)
    assert not index.update(1, "Local", "submitted", now=30)  # no change, keeps its age
    assert (index.oldest_since("Local", "submitted"), index.newest_since("Local", "submitted")) == (10, 20)
    index.update(1, "Local", "running", now=40)
    assert [t.job_id for t in index.jobs("Local", "running")] == [1]
    assert index.count("Local", "submitted") == 1
    index.update(2, "Local", "completing", now=50)
    assert index.polled_backends() == ["Local"] and len(index) == 2
    index.update(1, "Local", "completed", now=60)
    index.update(2, "Local", "completed", now=60)
    assert len(index) == 0 and index.backends() == []


def test_replace_all_keeps_ages_of_unchanged_jobs_and_drops_missing_ones() -> None:
    index = ActiveJobIndex()
    index.update(1, "Local", "running", now=5)
    index.update(2, "Dirac", "running", now=5)
    changed = index.replace_all([(1, "Local", "running"), (3, "Dirac", "submitted"), (4, "X", "new")], started=99)
    assert changed == 2  # job 3 added, job 2 dropped
    assert index.get(1).since == 5 and index.get(2) is None and index.get(3).since == 99  # type: ignore[union-attr]


def test_concurrent_updates_leave_a_consistent_index() -> None:
    index = ActiveJobIndex()

    def churn(offset: int) -> None:
        for n in range(2000):
            job = offset + n % 50
            index.update(job, "B", ("submitted", "running", "completed")[n % 3], now=n)

    threads = [threading.Thread(target=churn, args=(k * 100,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counted = sum(sum(c.counts.values()) for c in index.counts())
    assert counted == len(index)


def test_reconcile_keeps_what_changed_after_its_scan_began() -> None:
    """Issue 18: a job submitted while the registry was scanned was dropped until the next reconcile."""
    index = ActiveJobIndex()
    index.update(1, "Local", "running", now=5.0)
    index.update(2, "Local", "running", now=5.0)

    def listing():  # type: ignore[no-untyped-def]
        yield 1, "Local", "submitted"  # read before the listener saw job 1 start running, at 11
        index.update(1, "Local", "running", now=11.0)
        index.update(3, "Dirac", "submitted", now=12.0)  # submitted during the scan, after it passed
        # job 2 has ended: it is not listed

    index.replace_all(listing(), started=10.0)
    assert index.get(1).status == "running" and index.get(1).since == 11.0  # not set back to submitted
    assert index.get(3) is not None  # not dropped
    assert index.get(2) is None

