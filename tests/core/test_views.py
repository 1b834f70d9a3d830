"""The monitoring snapshot and its rendering, on a scheduler driven by a fake clock."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pytest

from GangaMonitoring.views.layout import CUT, Part, explain_job, fit, render, render_progress
from GangaMonitoring.views.snapshot import (FailedJobs, JobProgress, JobStatistics, MonitoringSnapshot, PoolSnapshot,
                                            WorkerSnapshot)
from GangaMonitoring.views.watch_app import watch
from GangaMonitoring.integration import statistics
from GangaMonitoring.core.clock import FakeClock
from GangaMonitoring.core.index import ActiveJobIndex
from GangaMonitoring.core.poll_record import BackendPollRecord
from GangaMonitoring.core.planner import PlannerSettings, PollPlanner
from GangaMonitoring.runtime.pools import Pools
from GangaMonitoring.runtime.runner import SchedulerRunner
from GangaMonitoring.core.retry import Fault
from GangaMonitoring.core.scheduler import Scheduler
from GangaMonitoring.core.trouble import EndedReasons, TroubledJobs
from GangaMonitoring.core.work import JobKey, Kind, Operation, OpKey, PriorityClass


def component(io_workers: int = 1) -> SimpleNamespace:
    clock = FakeClock(start=1000.0)
    scheduler = Scheduler({"poll": 1, "io": io_workers, "cpu": 1},
                          backend_limit=lambda backend, pool: 1 if pool == "io" else None)
    pools = Pools({"poll": 1, "io": io_workers, "cpu": 1, "processes": 1}, clock)
    runner = SchedulerRunner(scheduler, pools, clock, lambda kind: None)  # never started: no thread
    index = ActiveJobIndex()
    records = {"SimGrid": BackendPollRecord("SimGrid", polls=3, failures=1, consecutive_failures=1, last_started=990.0,
                                            last_duration=0.25, last_jobs=2, last_error="HTTP 503",
                                            last_ok_started=970.0)}
    settings = PlannerSettings(interval_for=lambda backend: 10.0)
    planner = PollPlanner(lambda: settings, lambda backend, group: lambda op: None)
    return SimpleNamespace(clock=clock, runner=runner, pools=pools, index=index, enabled=True, alive=True,
                           poll_records=records,
                           polling=SimpleNamespace(planner_settings=lambda: settings, planner=planner, records=records),
                           last_service_error={}, job_progress=lambda limit: ([], 0),
                           retry_output=lambda job: [], output_failures={}, troubled=TroubledJobs(),
                           ended_reasons=EndedReasons(), failing_job_grace=lambda: 600.0)


def test_snapshot_says_what_runs_what_waits_and_how_far_behind() -> None:
    c = component()
    c.index.update(7, "SimGrid", "running", now=900.0)
    c.index.update(8, "SimGrid", "completing", now=995.0)
    for n in range(3):
        c.runner.submit(Operation(key=OpKey.retrieve(f"8.{n}"), kind=Kind.RETRIEVE, backend="SimGrid",
                                  priority=PriorityClass.FINALISE, due=1000.0, job_ids={8},
                                  description=f"retrieve output of 8.{n}"))
    c.runner.submit(Operation(key=OpKey.poll("poll", "SimGrid"), kind=Kind.POLL, backend="SimGrid",
                              priority=PriorityClass.POLL, due=1010.0, description="poll SimGrid"))
    c.scheduler = c.runner.scheduler
    [started] = c.scheduler.pop_ready(1000.0)
    c.clock.jump(4)
    snap = statistics.monitoring_statistics(c)
    assert snap.retrieval_backlog == 2 and snap.running == ["retrieve output of 8.0"]
    assert snap.oldest_ready_age == 4.0
    [retrieve, poll] = snap.queued
    assert (retrieve.kind, retrieve.priority, retrieve.ready, retrieve.waiting) == ("retrieve", "FINALISE", 2, 0)
    assert (poll.kind, poll.ready, poll.waiting, poll.first) == ("poll", 0, 1, ["poll SimGrid"])
    [backend] = snap.backends
    assert backend.jobs == {"running": 1, "completing": 1}
    assert (backend.last_poll_ago, backend.next_poll_in, backend.last_error) == (14.0, 6.0, "HTTP 503")
    # job 7 has run since 900 and no poll of it started yet; job 8's output has waited since 995
    assert (backend.unchecked_for, backend.oldest_completing_age) == (104.0, 9.0)
    json.dumps(snap.as_dict())  # plain data all the way down
    text = render(snap)
    assert "oldest due work has waited 4.0 s; retrieval backlog 2" in text
    # the health first: a narrow terminal cuts the end of a line (issue 16)
    assert ("SimGrid        FAILING x1: HTTP 503; 2 jobs: 1 completing, 1 running; last poll 14.0 s ago (2 jobs; it "
            "failed after 0.25 s); next in 6.0 s") in text
    # issue 16: "every active job looked at within" beside a failing backend said the opposite of the truth
    assert "last successful poll 34.0 s ago; oldest output waiting 9.0 s" in text
    c.poll_records["SimGrid"].consecutive_failures = 0
    assert "every active job looked at within 104.0 s; oldest output waiting 9.0 s" in \
        render(statistics.monitoring_statistics(c))
    why = statistics.explain(c, 8)
    assert "job 8 is completing on SimGrid since 9.0 s" in why
    assert "retrieve output of 8.0 [FINALISE]: running on io for 4.0 s" in why
    assert "retrieve output of 8.1 [FINALISE]: backend SimGrid at its limit (1 running on io)" in why
    c.pools.shutdown()


def test_idle_workers_beside_ready_work_say_why_it_waits() -> None:
    """Issue 16: "io 1/4 busy" while downloads waited said nothing of the backend's limit."""
    c = component(io_workers=4)
    for n in range(3):
        c.runner.submit(Operation(key=OpKey.retrieve(str(n)), kind=Kind.RETRIEVE, backend="SimGrid",
                                  priority=PriorityClass.FINALISE, due=1000.0, description=f"retrieve {n}"))
    c.runner.scheduler.pop_ready(1000.0)  # one starts; SimGrid's io limit is 1
    io = next(p for p in statistics.monitoring_statistics(c).pools if p.name == "io")
    assert io.idle_because == ["2 x backend SimGrid at its limit (1 running on io)"]
    assert "  io         0/4 busy; ready work waits: 2 x backend SimGrid at its limit (1 running on io)" in \
        render(statistics.monitoring_statistics(c))
    c.pools.shutdown()


def test_the_last_minutes_show_retries_failures_and_errors_a_client_retried_itself() -> None:
    """Issue 16: with 5 % of requests failing, queues said "failures: 0" (the client retried them)."""
    c = component()
    s = c.runner.scheduler
    for n in range(3):
        s.submit(Operation(key=OpKey.retrieve(str(n)), kind=Kind.RETRIEVE, backend="SimGrid",
                           priority=PriorityClass.FINALISE, due=1000.0), 1000.0)
    s.submit(Operation(key=OpKey.poll("poll", "SimGrid"), kind=Kind.POLL, backend="SimGrid",
                       priority=PriorityClass.POLL, due=1000.0), 1000.0)
    now = 1000.0
    ended = 0
    while ended < 4:
        for o in s.pop_ready(now):
            if o.key == OpKey.retrieve("0") and o.attempts <= 1:
                s.retry(o, now, now + 1, "HTTP 500")
            else:
                s.complete(o, now, error="JobError: lost" if o.key == OpKey.retrieve("2") else None)
                ended += 1
        now += 1.0
        c.clock.jump(1)
    for _ in range(14):
        c.runner.note("SimGrid", "request", "retried")
    c.last_service_error["SimGrid"] = (c.clock.now() - 12, "SimGridGlitch: HTTP 500 injected internal error")
    [backend] = statistics.monitoring_statistics(c).backends
    assert backend.recent == {"poll": {"ok": 1}, "retrieve": {"ok": 2, "retried": 1, "failed": 1},
                              "request": {"retried": 14}}
    text = render(statistics.monitoring_statistics(c))
    assert ("last 5 min: polls 1; downloads 3 (1 retried, 1 failed); 14 request(s) retried by its client; "
            "last: SimGridGlitch: HTTP 500 injected internal error (12 s ago)") in text
    c.clock.jump(400)
    assert "last 5 min: nothing" in render(statistics.monitoring_statistics(c))
    c.pools.shutdown()


def test_split_jobs_show_their_subjobs_by_state_their_pace_and_what_is_left() -> None:
    """Issue 16: queues counted a 500-subjob job as "1 running"."""
    busy = JobProgress(job_id=8, backend="SimGrid", subjobs=500,
                                  states={"running": 150, "completed": 320, "submitted": 25, "failed": 5},
                                  finished_recently=320, rate_per_min=64.0, eta_s=175 / (64 / 60))
    quiet = JobProgress(9, "Local", 3, {"submitted": 3}, 0, 0.0, None)
    assert render_progress(busy) == \
        "job 8 on SimGrid, 500 subjobs: 320 completed, 5 failed, 150 running, 25 submitted; 64/min, ~2.7 min left"
    assert render_progress(quiet) == "job 9 on Local, 3 subjobs: 3 submitted; none finished lately"
    early = dataclasses.replace(quiet, states={"failed": 1, "submitted": 2}, finished_recently=1)
    assert render_progress(early).endswith("1 failed, 2 submitted; 1 finished just now")
    c = component()
    c.job_progress = lambda limit: ([busy, quiet][:limit], 1)
    snap = statistics.monitoring_statistics(c)
    assert snap.jobs == [busy, quiet] and snap.more_jobs == 1
    text = render(snap)
    assert "Split jobs:\n  job 8 on SimGrid, 500 subjobs: " in text and "\n  ... and 1 more\n" in text
    c.pools.shutdown()


def test_an_active_job_between_two_polls_says_when_its_backend_was_last_polled() -> None:
    """The instant between a poll's end and the next one's planning: no poll operation exists."""
    c = component()
    c.index.update(7, "SimGrid", "running", now=999.0)
    assert statistics.explain(c, 7) == (
        "job 7 is running on SimGrid since 1.0 s\n"
        "  poll SimGrid: between two polls (the last started 10.0 s ago); the next is planned on the "
        "dispatcher's next pass")
    c.runner.submit(Operation(key=OpKey.poll("poll", "SimGrid"), kind=Kind.POLL, backend="SimGrid",
                              priority=PriorityClass.POLL, due=1010.0, description="poll SimGrid"))
    assert "between two polls" not in statistics.explain(c, 7)  # a planned poll explains itself
    c.index.update(9, "Local", "submitted", now=1000.0)
    assert "poll Local: between two polls (never polled yet)" in statistics.explain(c, 9)
    c.pools.shutdown()


def test_a_job_nobody_monitors_says_so() -> None:
    c = component()
    assert statistics.explain(c, 42) == (
        "job 42 is not being monitored (only submitted, running and completing jobs are)")
    assert "(nothing)" in render(statistics.monitoring_statistics(c))
    c.pools.shutdown()


def test_a_failed_job_says_why_as_far_as_monitoring_knows() -> None:
    """Issue 16: why(j) of a failed job said only that it was not monitored."""
    c = component()
    failed = FailedJobs({JobKey(5): "the grid reported it Failed at 12:00:00 (grid id 9)"})
    assert statistics.explain(c, 5, "failed", failed) == (
        "job 5 is failed: it is not being monitored (only submitted, running and completing jobs are)\n"
        "  it failed: the grid reported it Failed at 12:00:00 (grid id 9)")
    assert statistics.explain(c, 6, "failed", FailedJobs({JobKey(6): None})).endswith(
        "\n  it failed: no reason known to monitoring")  # a backend with no reason of its own: no guess
    c.troubled.note(JobKey(7), "JobError: the grid does not know job 7", now=990.0)
    c.output_failures["7"] = (JobKey(7), "monitoring gave up: every update of it failed for 600 s")
    assert statistics.explain(c, 7, "failed").endswith(
        "\n  it failed: monitoring gave up: every update of it failed for 600 s (queues.retry(j) tries again); "
        "its updates failed 1 time(s) in a row, the last: JobError: the grid does not know job 7")
    c.index.update(8, "SimGrid", "running", now=999.0)
    c.troubled.note(JobKey(8), "HTTP 404", now=999.0)
    assert "\n  its updates failed 1 time(s) in a row, the last: HTTP 404\n" in statistics.explain(c, 8)
    assert "it failed" not in statistics.explain(c, 8)
    c.ended_reasons.put("9", "its process (pid 4242) is gone and it wrote no exit code in 10 s (killed?)")
    assert statistics.explain(c, 9, "failed").endswith(
        "\n  it failed: its process (pid 4242) is gone and it wrote no exit code in 10 s (killed?)")
    c.ended_reasons.put("10", "it ended outside Ganga: Slurm (id 77) says CANCELLED (None)")
    assert statistics.explain(c, 10, "killed").endswith(
        "\n  it was killed: it ended outside Ganga: Slurm (id 77) says CANCELLED (None)")
    assert "\n" not in statistics.explain(c, 11, "killed")  # killed by its user: nothing to add
    c.pools.shutdown()


def test_a_master_lists_its_failed_subjobs_those_monitoring_failed_first() -> None:
    c = component()
    c.output_failures["3.7"] = (JobKey(3, 7), "output not retrieved: HTTP 503")
    says = {JobKey(3, n): f"the grid reported it Failed (grid id {n})" for n in range(1, 9)}
    text = statistics.explain(c, 3, "failed", FailedJobs(says, count=12, subjobs=20))
    assert text.splitlines() == [
        "job 3 is failed: it is not being monitored (only submitted, running and completing jobs are)",
        "  12 of its 20 subjobs failed:",
        "    3.7: output not retrieved: HTTP 503 (queues.retry(j) tries again); "
        "the grid reported it Failed (grid id 7)",
        *(f"    3.{n}: the grid reported it Failed (grid id {n})" for n in (1, 2, 3, 4, 5, 6, 8)),
        "    ... and 4 more"]
    # without the caller's reading of the jobs: those monitoring failed, as it knows them
    assert statistics.explain(c, 3).splitlines()[1:] == [
        "  1 subjob failed:", "    3.7: output not retrieved: HTTP 503 (queues.retry(j) tries again)"]
    c.pools.shutdown()


def snapshots(c: SimpleNamespace):  # type: ignore[no-untyped-def]
    """What ``queues.watch`` passes ``watch``: the component's statistics, for each frame."""
    return lambda: statistics.monitoring_statistics(c)


def busy_component() -> SimpleNamespace:
    """Two backends (one failing, one down), queued and running downloads, a split job."""
    c = component(io_workers=4)
    c.index.update(7, "SimGrid", "running", now=900.0)
    c.index.update(8, "SimGrid", "completing", now=995.0)
    for n in range(3):
        c.runner.submit(Operation(key=OpKey.retrieve(f"8.{n}"), kind=Kind.RETRIEVE, backend="SimGrid",
                                  priority=PriorityClass.FINALISE, due=1000.0, job_ids={8},
                                  description=f"retrieve output of 8.{n} from the grid's storage element"))
    c.runner.submit(Operation(key=OpKey.poll("poll", "SimGrid"), kind=Kind.POLL, backend="SimGrid",
                              priority=PriorityClass.POLL, due=1010.0, description="poll SimGrid"))
    c.runner.scheduler.pop_ready(1000.0)
    for n in range(5):
        c.runner.scheduler.breakers.failed(Operation(key=OpKey("get", n), kind=Kind.RETRIEVE, backend="Grid", due=0.0,
                                                     priority=PriorityClass.FINALISE), 1000.0, "HTTP 503",
                                           Fault.BACKEND)
    c.clock.jump(4)
    split = JobProgress(job_id=8, backend="SimGrid", subjobs=500,
                                   states={"running": 150, "completed": 320, "submitted": 25, "failed": 5},
                                   finished_recently=320, rate_per_min=64.0, eta_s=175 / (64 / 60))
    c.job_progress = lambda limit: ([split], 0)
    return c


WHOLE = {  # what the backends' and the split job's lines keep at each width
    120: ["  Grid           DOWN (breaker open for 4 s, next probe in 6 s); no active job; last poll never; next -",
          "  SimGrid        FAILING x1: HTTP 503; 2 jobs: 1 completing, 1 running; last poll 14.0 s ago",
          "  job 8 on SimGrid, 500 subjobs: 320 completed, 5 failed, 150 running, 25 submitted; 64/min, ~2.7 min left"],
    80: ["  Grid           DOWN (breaker open for 4 s, next probe in 6 s); no active job",
         "  SimGrid        FAILING x1: HTTP 503; 2 jobs: 1 completing, 1 running",
         "  job 8: 320 completed, 5 failed, 150 running, 25 submitted; ~2.7 min left"],
    60: ["  Grid           DOWN (breaker open for 4 s,\u2026; no active job",
         "  SimGrid        FAILING x1; 2 jobs: 1 completing, 1 running",
         "  job 8: 320 completed, 5 failed, 150 runnin\u2026; ~2.7 min left"],
}


@pytest.mark.parametrize("width", [120, 80, 60])
def test_every_line_fits_the_width_the_least_telling_parts_giving_way_first(width: int) -> None:
    """Issue 16: at 80 columns the watch cut the backend line's health word."""
    c = busy_component()
    text = render(statistics.monitoring_statistics(c), width)
    lines = text.splitlines()
    assert max(map(len, lines)) <= width, [line for line in lines if len(line) > width]
    assert max(map(len, render(statistics.monitoring_statistics(c)).splitlines())) > 120  # so all had to fit
    grid, simgrid, split = WHOLE[width]
    assert grid in lines and simgrid in lines and split in lines, text
    header = {120: "GangaMonitoring: enabled; oldest due work has waited 4.0 s; retrieval backlog 2, finalisation "
                   "backlog 0",
              80: "GangaMonitoring: enabled; due work waited 4.0 s; to retrieve 2, to finalise 0",
              60: "GangaMonitoring: enabled; due work waited 4.0 s"}[width]
    assert lines[0] == header
    assert "  io         0/4 busy; ready work waits" in text  # the waits are cut, the pool's use stays
    c.pools.shutdown()


def test_a_line_too_wide_whatever_gives_way_is_cut_at_its_end() -> None:
    line = [Part("  SimGrid        "), Part("FAILING x3: " + "x" * 80, (1, CUT),
                                                                    (2, "FAILING x3"))]
    assert fit(None, *line) == "  SimGrid        FAILING x3: " + "x" * 80
    assert fit(40, *line) == "  SimGrid        FAILING x3: xxxxxxxxxx\u2026"
    assert fit(30, *line) == "  SimGrid        FAILING x3"  # a cut keeping 1 x is not worth it
    assert fit(20, *line) == "  SimGrid        FA\u2026"
    assert fit(20, Part("short"), Part("", (1, "longer form"))) == "short"


def test_a_busy_workers_description_gives_way_to_the_time_it_has_run() -> None:
    worker = WorkerSnapshot("GangaMon-io-3", "retrieve output of 12.345 from the grid's storage element",
                                       12.3)
    snap = MonitoringSnapshot(True, True, [PoolSnapshot("io", 8, 1, [worker])], [], [], [],
                                         0, 0, 0.0)
    [whole] = [line for line in render(snap).splitlines() if "GangaMon-io-3" in line]
    assert "storage element " in whole and whole.endswith("  12.3 s")
    [narrow] = [line for line in render(snap, 60).splitlines() if "GangaMon-io-3" in line]
    assert narrow == "    GangaMon-io-3          retrieve output of 12.3\u2026   12.3 s"


def test_watch_frames_fit_the_width_given_or_the_terminals() -> None:
    import io

    c = busy_component()
    out = io.StringIO()
    assert watch(snapshots(c), 0.5, 1, out, sleep=lambda _s: None, width=60) == 1
    assert max(map(len, out.getvalue().splitlines())) <= 60
    whole = io.StringIO()
    watch(snapshots(c), 0.5, 1, whole, sleep=lambda _s: None)  # not a terminal: whole lines, for logs
    assert max(map(len, whole.getvalue().splitlines())) > 120
    c.pools.shutdown()


def test_watch_refreshes_until_its_count_and_stops_on_ctrl_c() -> None:
    import io

    c = component()
    out = io.StringIO()
    pauses: list[float] = []
    assert watch(snapshots(c), 0.5, 3, out, sleep=pauses.append) == 3
    assert out.getvalue().count("GangaMonitoring: enabled") == 3 and pauses == [0.5, 0.5]

    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    assert watch(snapshots(c), 0.5, None, io.StringIO(), sleep=interrupt) == 1
    c.pools.shutdown()


def watching(*keys: str) -> int:
    """Run the full-screen watch in a real pseudo-terminal (80 columns), send ``keys``; frames drawn."""
    import os
    import sys
    from pathlib import Path

    import pexpect

    here = Path(__file__).parent
    child = pexpect.spawn(sys.executable, [str(here / "watch_live_child.py"), "0.2"], cwd=str(here),
                          env={**os.environ, "TERM": "xterm", "PYTHONPATH": str(here)},
                          encoding="utf-8", timeout=60, dimensions=(50, 80))
    try:
        child.expect_exact("(q, Esc or Ctrl-C")
        child.expect(r"GangaMonitoring watch, \d\d:\d\d:\d\d \(every 0.2 s\)")  # a clock, repainted
        # 80 columns: the next poll and the last one's detail gave way, and the line ends at a field's end
        child.expect(r"  SimGrid        FAILING x1: HTTP 503; 1 job: 1 running; last poll 10\.0 s ago"
                     r"(\x1b\[[0-9;]*m)*\r")
        helping = False
        for key in keys:
            child.send(key)
            if key == "?":
                helping = not helping
                child.expect_exact("retry the output of every job" if helping else "Backends:")
            elif key == "r":
                child.expect_exact("retrying the output of 0 job(s) (none failed for want of it)")
        child.expect(r"watch ended after (\d+) frame\(s\)")
        frames = int(child.match.group(1))
        child.expect(pexpect.EOF)
        return frames
    finally:
        child.close(force=True)


def test_watch_is_full_screen_on_a_terminal_and_q_leaves_it() -> None:
    """A real pseudo-terminal: the prompt_toolkit display repaints until q is typed."""
    assert watching("?", "?", "r", "q") >= 2


@pytest.mark.parametrize("key", ["Q", "\x1b", "\x03"])
def test_watch_leaves_on_q_esc_and_ctrl_c(key: str) -> None:
    assert watching(key) >= 1


def test_a_backend_whose_breaker_is_open_shows_as_down() -> None:
    c = component()
    breakers = c.runner.scheduler.breakers
    for n in range(5):
        breakers.failed(Operation(key=OpKey("get", n), kind=Kind.RETRIEVE, backend="Grid", due=0.0,
                                  priority=PriorityClass.FINALISE),
                        1000.0, "HTTP 503", Fault.BACKEND)
    c.clock.jump(4)
    snapshot = statistics.monitoring_statistics(c)
    [grid, _simgrid] = snapshot.backends
    assert [b.name for b in snapshot.breakers] == ["Grid"] and snapshot.planner is not None
    assert grid.backend == "Grid" and grid.breaker is not None
    # a structured entry, not prose: the renderer words it
    assert (grid.breaker.state, grid.breaker.open_for, grid.breaker.next_probe_in, grid.breaker.last_error) == (
        "open", 4.0, 6.0, "HTTP 503")
    assert grid.breaker.describe() == "open for 4 s, next probe in 6 s"
    assert "Grid           DOWN (breaker open for 4 s, next probe in 6 s); no active job; last poll never; next -" \
        in render(statistics.monitoring_statistics(c))
    c.pools.shutdown()


def test_why_says_a_jobs_state_in_gangas_word_and_its_subjobs_by_state() -> None:
    """Issue 29: 'job 1 is running on Local' while j.status said submitted (2 of 50 subjobs running)."""
    stats = JobStatistics(job_id=1, status="running", backend="Local", for_seconds=12.0)
    failed = FailedJobs(subjobs=50, states={"submitted": 48, "running": 2})
    assert explain_job(stats, "submitted", failed).splitlines()[0] == \
        "job 1 is submitted (50 subjobs: 2 running, 48 submitted) on Local"
    assert explain_job(stats, "running", failed).splitlines()[0] == \
        "job 1 is running (50 subjobs: 2 running, 48 submitted) on Local since 12.0 s"
    assert explain_job(stats).splitlines()[0] == "job 1 is running on Local since 12.0 s"


def test_jobs_failing_on_their_own_are_shown_under_their_job_with_when_they_are_failed() -> None:
    """Issue 29: one forgotten subjob made the whole backend 'FAILING'; its job is where the trouble is."""
    c = component()
    for sub in range(18):
        c.troubled.note(JobKey(3, sub), "UnknownJob: the grid does not know it", now=880.0)
    c.troubled.note(JobKey(5), "HTTP 404", now=995.0)
    snapshot = statistics.monitoring_statistics(c)
    assert [(t.job_id, t.subjobs, t.failing_for, t.marked_failed_in) for t in snapshot.troubled] == [
        (3, 18, 120.0, 480.0), (5, 0, 5.0, 595.0)]
    text = render(snapshot)
    assert ("Jobs in trouble (theirs, not their backend's):\n"
            "  job 3: 18 subjobs failing their updates for 2.0 min while the backend answers (UnknownJob: the grid "
            "does not know it); marked failed in 8.0 min unless they succeed\n"
            "  job 5: failing its updates for 5 s while the backend answers (HTTP 404); marked failed in 9.9 min "
            "unless it succeeds") in text
    c.pools.shutdown()


def test_the_cadence_of_a_split_job_is_said_in_one_line() -> None:
    from GangaMonitoring.views.layout import render_cadence
    from GangaMonitoring.views.snapshot import CadenceSnapshot

    entry = CadenceSnapshot(job_id=3, backend="Slurm", next_poll_in=4.12, why="a predicted end", siblings_ended=12,
                            median_runtime=21.4, running=5, quiet_polls=0)
    assert render_cadence(entry) == ("next poll of master 3 (Slurm) at +4.1 s (a predicted end): 12 sibling(s) "
                                     "ended, median runtime 21 s, 5 running")
    due = CadenceSnapshot(3, "Slurm", -0.5, "the interval", 0, None, 2, 1)
    assert render_cadence(due) == "next poll of master 3 (Slurm) due now (the interval): 0 sibling(s) ended, 2 running"
