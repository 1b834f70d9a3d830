"""The poll planner on a fake index and scheduler: when polls are due, for which groups."""

from __future__ import annotations

from GangaMonitoring.core.index import ActiveJobIndex
from GangaMonitoring.core.planner import POLL, POLL_NEW, POLL_QUEUED, PlannerSettings, PollPlanner
from GangaMonitoring.core.scheduler import Scheduler
from GangaMonitoring.core.work import OpKey, PriorityClass

INTERVALS = {"Local": 10.0, "Dirac": 50.0}


def setup(**settings: float) -> tuple[PollPlanner, ActiveJobIndex, Scheduler]:
    values = PlannerSettings(interval_for=INTERVALS.__getitem__, long_queued_after=600.0,
                             queued_interval_factor=4.0, first_poll_delay=2.0)
    if settings:
        values = PlannerSettings(interval_for=INTERVALS.__getitem__, **settings)  # type: ignore[arg-type]
    planner = PollPlanner(lambda: values, lambda backend, group: None)
    return planner, ActiveJobIndex(), Scheduler({"poll": 5, "io": 5, "cpu": 5})


def plan(planner: PollPlanner, index: ActiveJobIndex, scheduler: Scheduler, now: float) -> dict:
    result = planner.plan(index, scheduler, now)
    for op in result.operations:
        scheduler.submit(op, now)
    return {op.key: op for op in scheduler.pending()}


def run(scheduler: Scheduler, now: float) -> list:
    started = scheduler.pop_ready(now)
    for op in started:
        scheduler.complete(op, now + 0.1)
    return started


def test_running_jobs_are_polled_now_then_one_interval_after_each_start() -> None:
    planner, index, scheduler = setup()
    index.update(1, "Local", "running", now=0)
    assert plan(planner, index, scheduler, 100)[OpKey.poll(POLL, "Local")].due == 100
    run(scheduler, 100)
    assert plan(planner, index, scheduler, 100.1)[OpKey.poll(POLL, "Local")].due == 110


def test_a_new_submission_is_looked_at_after_first_poll_delay() -> None:
    planner, index, scheduler = setup()
    index.update(1, "Local", "running", now=0)
    plan(planner, index, scheduler, 100)
    run(scheduler, 100)
    plan(planner, index, scheduler, 100.1)
    index.update(2, "Local", "submitted", now=103)
    assert plan(planner, index, scheduler, 103)[OpKey.poll(POLL, "Local")].due == 105  # not 110
    run(scheduler, 105)
    assert plan(planner, index, scheduler, 105.1)[OpKey.poll(POLL, "Local")].due == 115  # already seen: interval


def test_first_poll_of_a_submitted_job_waits_first_poll_delay() -> None:
    planner, index, scheduler = setup()
    index.update(1, "Local", "submitted", now=50)
    assert plan(planner, index, scheduler, 50)[OpKey.poll(POLL, "Local")].due == 52


def test_long_queued_jobs_are_polled_less_often_at_the_lowest_class() -> None:
    planner, index, scheduler = setup()
    index.update(1, "Dirac", "submitted", now=0)
    pending = plan(planner, index, scheduler, 700)
    assert set(pending) == {OpKey.poll(POLL_QUEUED, "Dirac")}
    assert pending[OpKey.poll(POLL_QUEUED, "Dirac")].priority is PriorityClass.QUEUED
    run(scheduler, 700)
    assert plan(planner, index, scheduler, 701)[OpKey.poll(POLL_QUEUED, "Dirac")].due == 700 + 4 * 50


def test_two_backends_active_at_once_are_both_polled() -> None:
    """Stock Ganga polled only the last backend found in a scan (GANGA_NOTES §0.2)."""
    planner, index, scheduler = setup()
    index.update(1, "Local", "running", now=0)
    index.update(2, "Dirac", "running", now=0)
    assert set(plan(planner, index, scheduler, 1)) == {OpKey.poll(POLL, "Local"), OpKey.poll(POLL, "Dirac")}


def test_no_second_poll_while_one_is_planned_or_running() -> None:
    planner, index, scheduler = setup()
    index.update(1, "Local", "running", now=0)
    plan(planner, index, scheduler, 0)
    assert planner.plan(index, scheduler, 0).operations == []
    scheduler.pop_ready(0)
    assert planner.plan(index, scheduler, 5).operations == []


def test_idle_backend_is_reported_once_and_not_while_its_poll_runs() -> None:
    planner, index, scheduler = setup()
    index.update(1, "Local", "running", now=0)
    plan(planner, index, scheduler, 0)
    [poll] = scheduler.pop_ready(0)
    index.update(1, "Local", "completed", now=1)
    assert planner.plan(index, scheduler, 1).idle_backends == []  # its poll still runs
    scheduler.complete(poll, 2)
    assert planner.plan(index, scheduler, 2).idle_backends == ["Local"]
    assert planner.plan(index, scheduler, 3).idle_backends == []


def test_unchecked_for_is_the_age_of_the_least_recently_polled_group() -> None:
    planner, index, scheduler = setup()
    assert planner.unchecked_for(index, "Local", 0, 600.0) is None  # nothing to poll
    index.update(1, "Local", "running", now=100)
    index.update(2, "Local", "submitted", now=0)  # queued long: the slow group
    assert planner.unchecked_for(index, "Local", 700, 600.0) == 700  # never polled: since job 2 entered
    plan(planner, index, scheduler, 700)
    run(scheduler, 700)  # both groups polled at 700
    plan(planner, index, scheduler, 700.1)
    assert planner.unchecked_for(index, "Local", 705, 600.0) == 5
    run(scheduler, 710)  # only the running group is due at 710; the queued one at 740
    plan(planner, index, scheduler, 710.1)
    assert planner.unchecked_for(index, "Local", 720, 600.0) == 20  # the queued group lags


def test_new_jobs_of_a_backend_that_polls_everything_get_a_poll_of_their_own() -> None:
    """Submitted one after another, new jobs would pull the whole backend's poll forward each time."""
    values = PlannerSettings(interval_for=INTERVALS.__getitem__, first_poll_delay=2.0,
                             new_jobs_apart=lambda backend: backend == "Local")
    planner = PollPlanner(lambda: values, lambda backend, group: None)
    index, scheduler = ActiveJobIndex(), Scheduler({"poll": 5, "io": 5, "cpu": 5})
    index.update(1, "Local", "submitted", now=50)
    assert set(plan(planner, index, scheduler, 50)) == {OpKey.poll(POLL, "Local")}  # the first look is the whole poll
    run(scheduler, 52)
    for t in (53.0, 54.0):  # two more jobs, one a second after the other, each waking the planner
        index.update(int(t), "Local", "submitted", now=t)
        pending = plan(planner, index, scheduler, t)
    assert pending[OpKey.poll(POLL, "Local")].due == 62  # the whole backend: one interval after its last start
    assert pending[OpKey.poll(POLL_NEW, "Local")].due == 55  # the new ones: first_poll_delay after the first of them
    assert pending[OpKey.poll(POLL_NEW, "Local")].priority is PriorityClass.POLL
    [new] = [op for op in run(scheduler, 55) if op.key.what == POLL_NEW]
    assert planner.new_since("Local") == 52  # its action takes the jobs submitted after that
    assert OpKey.poll(POLL_NEW, "Local") not in plan(planner, index, scheduler, 55.1)  # nothing new since it started
    index.update(56, "Local", "submitted", now=56)
    assert plan(planner, index, scheduler, 56)[OpKey.poll(POLL_NEW, "Local")].due == 58


def test_the_end_of_a_submission_pulls_the_next_poll_to_first_poll_delay_after_it() -> None:
    """Issue 30: a split master tracked as submitted (or running) since before a poll that left it alone (its
    submit() still ran) was looked at again only one whole interval later; its subjobs ended meanwhile."""
    planner, index, scheduler = setup()
    index.update(1, "Local", "submitted", now=99)  # the master, during its submission
    plan(planner, index, scheduler, 101)
    run(scheduler, 101)  # this poll left the master alone
    assert plan(planner, index, scheduler, 101.1)[OpKey.poll(POLL, "Local")].due == 111
    planner.submission_ended("Local", 104)
    assert plan(planner, index, scheduler, 104)[OpKey.poll(POLL, "Local")].due == 106  # not 111
    run(scheduler, 106)
    assert plan(planner, index, scheduler, 106.1)[OpKey.poll(POLL, "Local")].due == 116  # looked at: an interval
    planner.submission_ended("Dirac", 104)  # another backend's submissions change nothing here
    assert plan(planner, index, scheduler, 106.2)[OpKey.poll(POLL, "Local")].due == 116


def test_a_backend_that_polls_everything_is_not_polled_whole_at_each_submissions_end() -> None:
    planner, index, scheduler = setup()
    apart = PlannerSettings(interval_for=INTERVALS.__getitem__, first_poll_delay=2.0, new_jobs_apart=lambda b: True)
    planner = PollPlanner(lambda: apart, lambda backend, group: None)
    index.update(1, "Local", "submitted", now=99)
    plan(planner, index, scheduler, 101)
    run(scheduler, 101)
    planner.submission_ended("Local", 104)
    assert plan(planner, index, scheduler, 104)[OpKey.poll(POLL, "Local")].due == 111  # its interval
