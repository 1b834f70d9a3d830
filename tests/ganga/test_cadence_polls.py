"""The adaptive cadence, wired: a Local split job with file events off, polled at its siblings' predicted ends.

Local with ``batchsize=1`` runs a split job's subjobs one after another, so
they start at different times and run alike (``sleep 12``): once some have
ended, a running one's end is predicted (its start + their median runtime),
and the poll planned for that moment sees it end, before the poll one
interval after the last would have.  With these times a prediction comes early
enough in each of 150 simulated cases (``core/cadence.py`` on made-up times:
the first poll 1.5-4.8 s after the first subjob starts, each wrapper's own
0.2-2 s, whole-second stamps).  The polls are recorded as the component
makes them (the times it planned and began them, on its own clock), and the
assertions are on those times, not on how long anything took.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from GangaMonitoring.views.layout import render

from .conftest import wait_for

INTERVAL = 8
RUNTIME = 12
SUBJOBS = 4


def component() -> Any:
    from GangaCore.Core import monitoring_component

    return monitoring_component


class PollLog:
    """Each periodic poll of Local: when it was planned for and why, when it began, what it found ended."""

    def __init__(self, comp: Any, job: Any) -> None:
        self.lock = threading.Lock()
        self.planned: dict[float, tuple[float, str]] = {}
        """last poll's start -> (the due time last planned after it, why)."""
        self.polls: list[tuple[float, list[str]]] = []
        """(start, statuses of the subjobs after the poll), in order."""
        self.job = job
        cadence, polling = comp.cadence, comp.polling
        due, ended = polling.periodic_due, polling.on_periodic_poll

        def record_due(backend: str, now: float, last: float, interval: float) -> float:
            at = due(backend, now, last, interval)
            if backend == "Local":
                planned = cadence._planned.get(backend)
                with self.lock:
                    self.planned[last] = (at, planned.why if planned is not None else "the interval")
            return at

        def record_poll(backend: str, started: float) -> None:
            ended(backend, started)
            if backend == "Local":
                with self.lock:
                    self.polls.append((started, [sj.status for sj in self.job.subjobs]))

        polling.periodic_due, polling.on_periodic_poll = record_due, record_poll


@pytest.mark.parametrize("ganga_session", [
    [("PollThread", "Local", INTERVAL), ("Monitoring", "file_events", "off")],
    [("PollThread", "Local", INTERVAL), ("Monitoring", "file_events", "off"), ("Monitoring", "native_drivers", False)],
], indirect=True, ids=["native", "compat"])
def test_a_subjob_ending_between_two_periodic_polls_is_polled_at_its_predicted_end(ganga_session: Any) -> None:
    """Through Local's native driver, and through Ganga's own update (whose calls are counted by cause)."""
    gpi = ganga_session
    comp = component()
    assert comp.cadence.applies("Local")
    job = gpi.Job(application=gpi.Executable(exe="/bin/sleep"), backend=gpi.Local(batchsize=1),
                  splitter=gpi.ArgSplitter(args=[[str(RUNTIME)] for _ in range(SUBJOBS)]))
    log = PollLog(comp, job)
    job.submit()
    shown: list[str] = []

    def finished() -> bool:
        text = render(comp.statistics())
        if f"next poll of master {job.id} (Local)" in text:
            shown.append(text)
        return job.status == "completed"

    assert wait_for(finished, timeout=180), (job.status, log.polls)
    with log.lock:
        polls, planned = list(log.polls), dict(log.planned)
    starts = [start for start, _ in polls]
    timeline = ([(round(k - starts[0], 2), round(v[0] - starts[0], 2), v[1]) for k, v in sorted(planned.items())],
                [(round(at - starts[0], 2), statuses) for at, statuses in polls])
    # a poll planned for a predicted end (or as soon after it as the budget allowed), before the interval's
    # poll, found the subjob it predicted ended
    early = [k for k in range(1, len(polls)) if planned[starts[k - 1]][1].startswith("a predicted end")
             and any(before == "running" and after == "completed"
                     for before, after in zip(polls[k - 1][1], polls[k][1], strict=True))]
    assert early, timeline
    for k in early:
        due = planned[starts[k - 1]][0]
        assert due < starts[k - 1] + INTERVAL and starts[k] >= due, timeline
    # polls that saw nothing end were followed by a longer wait (the back-off paid for that early poll)
    assert any(reason.startswith("nothing ended") for _, reason in planned.values()), timeline
    # counted from the first, never more polls than every INTERVAL would have made
    assert all(k + 1 <= (at - starts[0]) // INTERVAL + 1 for k, at in enumerate(starts)), timeline
    # the cadence's state is where a user looks (queues, the status file's text)
    assert shown and any("sibling(s) ended, median runtime" in text for text in shown), shown[-1:]
    if comp.polling.native_driver("Local") is None:  # one update call per periodic poll of the one split job
        calls = {c.cause: c.calls for c in comp.update_calls.statistics() if c.backend == "Localhost"}
        assert calls.get("poll") == len(polls), (calls, len(polls))
