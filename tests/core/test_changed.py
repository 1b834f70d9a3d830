"""File events -> requested polls: a batch per backend, merged while pending, never lost while one runs."""

from __future__ import annotations

from GangaMonitoring.core.changed import ChangedJobs, file_event_poll
from GangaMonitoring.core.clock import FakeClock
from GangaMonitoring.core.scheduler import Scheduler
from GangaMonitoring.core.work import JobKey, OpKey, PriorityClass

WINDOW = 0.25  # and steps of 0.125: exact in binary, so due times compare exactly


def scheduler() -> Scheduler:
    return Scheduler({"poll": 4, "io": 4, "cpu": 4}, aging_seconds=30.0, backend_limit=lambda backend, pool: None)


def event(s: Scheduler, changed: ChangedJobs, clock: FakeClock, backend: str, *keys: JobKey) -> None:
    """What the watcher's thread does for one read of events: gather, then ask for the poll."""
    changed.add(backend, set(keys))
    s.submit(file_event_poll(backend, set(keys), clock.now(), WINDOW, lambda op: None), clock.now())


def test_events_within_the_window_make_one_poll_of_exactly_those_jobs() -> None:
    clock, s, changed = FakeClock(100.0), scheduler(), ChangedJobs()
    event(s, changed, clock, "Local", JobKey(1))
    clock.jump(0.125)
    event(s, changed, clock, "Local", JobKey(2, 3), JobKey(1))
    assert [op.key for op in s.pending()] == [OpKey.file_event_poll("Local")]
    assert s.pop_ready(clock.now()) == []  # due WINDOW after the first event, not pushed back by the second
    clock.jump(0.125)  # WINDOW after the first
    [op] = s.pop_ready(clock.now())
    assert op.priority is PriorityClass.FINALISE and op.job_ids == {1, 2}
    assert changed.take("Local") == {JobKey(1), JobKey(2, 3)}
    assert changed.take("Local") == set()


def test_backends_are_polled_apart() -> None:
    clock, s, changed = FakeClock(0.0), scheduler(), ChangedJobs()
    event(s, changed, clock, "Local", JobKey(1))
    event(s, changed, clock, "Slurm", JobKey(2))
    clock.jump(WINDOW)
    assert {op.key for op in s.pop_ready(clock.now())} == {OpKey.file_event_poll("Local"),
                                                            OpKey.file_event_poll("Slurm")}
    assert changed.take("Slurm") == {JobKey(2)}


def test_an_event_while_the_poll_runs_is_polled_once_more_after_it() -> None:
    clock, s, changed = FakeClock(0.0), scheduler(), ChangedJobs()
    event(s, changed, clock, "Local", JobKey(1))
    clock.jump(WINDOW)
    [running] = s.pop_ready(clock.now())
    assert changed.take("Local") == {JobKey(1)}  # the action took its jobs...
    event(s, changed, clock, "Local", JobKey(2))  # ...then job 2 wrote its file
    clock.jump(WINDOW)
    assert s.pop_ready(clock.now()) == []  # one key never runs twice at once
    s.complete(running, clock.now())
    [again] = s.pop_ready(clock.now())
    assert again is not running and changed.take("Local") == {JobKey(2)}


def test_jobs_in_submission_wait_for_its_end() -> None:
    changed = ChangedJobs()
    changed.defer("Slurm", {JobKey(7, 0), JobKey(7, 1), JobKey(8)})
    assert changed.take("Slurm") == set() and changed.pending() == 3
    assert changed.release(7) == {"Slurm": {JobKey(7, 0), JobKey(7, 1)}}
    assert changed.take("Slurm") == {JobKey(7, 0), JobKey(7, 1)}
    assert changed.release(7) == {} and changed.pending() == 1
