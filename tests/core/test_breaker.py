"""Per-backend breakers inside the scheduler, at exact virtual times."""

from __future__ import annotations

from GangaMonitoring.core.breaker import LOCAL_DISK, BreakerBoard, BreakerSettings, BreakerState, credential_breaker
from GangaMonitoring.core.retry import Fault
from GangaMonitoring.core.scheduler import Scheduler
from GangaMonitoring.core.work import Kind, Operation, OpKey, PriorityClass

SETTINGS = BreakerSettings(failures_to_open=3, first_probe_after=10.0, max_probe_interval=25.0)


def scheduler() -> Scheduler:
    return Scheduler({"poll": 10, "io": 10, "cpu": 10}, breakers=BreakerBoard(lambda: SETTINGS))


def op(name: str, backend: str = "Grid", kind: Kind = Kind.RETRIEVE,
       priority: PriorityClass = PriorityClass.FINALISE) -> Operation:
    return Operation(key=OpKey(name), kind=kind, backend=backend, priority=priority, due=0.0)


def fail_n(s: Scheduler, n: int, now: float, fault: Fault = Fault.BACKEND, kind: Kind = Kind.RETRIEVE) -> None:
    for i in range(n):
        s.submit(op(f"fail-{now}-{i}", kind=kind), now)
    for started in s.pop_ready(now):
        s.complete(started, now, error="HTTP 503", fault=fault)


def keys(ops: list[Operation]) -> set[str]:
    return {o.key.what for o in ops}  # type: ignore[misc]


def test_opens_after_consecutive_backend_faults_and_holds_only_that_backends_io() -> None:
    s = scheduler()
    fail_n(s, 3, now=0)
    assert s.breakers.state_of("Grid") is BreakerState.OPEN
    for name, backend, kind in [("held-poll", "Grid", Kind.POLL), ("held-get", "Grid", Kind.RETRIEVE),
                                ("unpack", "Grid", Kind.FINALISE), ("other", "Other", Kind.POLL)]:
        s.submit(op(name, backend, kind), now=1)
    assert keys(s.pop_ready(1)) == {"unpack", "other"}  # local work and other backends go on
    held = s.find(OpKey("held-get"))
    assert held is not None
    assert s.reason(held, 1) == "backend Grid is failing (breaker open for 1 s, next probe in 9 s)"
    assert s.next_wakeup(1) == 10.0  # the dispatcher wakes for the probe


def test_job_errors_do_not_open_it() -> None:
    s = scheduler()
    fail_n(s, 10, now=0, fault=Fault.JOB)
    assert s.breakers.state_of("Grid") is BreakerState.CLOSED


def test_a_success_in_between_resets_the_count() -> None:
    s = scheduler()
    fail_n(s, 2, now=0)
    s.submit(op("fine"), 0)
    [fine] = s.pop_ready(0)
    s.complete(fine, 0)
    fail_n(s, 2, now=1)
    assert s.breakers.state_of("Grid") is BreakerState.CLOSED


def test_one_probe_at_growing_intervals_then_everything_resumes() -> None:
    s = scheduler()
    fail_n(s, 3, now=0)
    for n in range(5):
        s.submit(op(f"held-{n}"), now=0)
    assert s.pop_ready(9.9) == []
    [probe] = s.pop_ready(10)  # exactly one probe
    assert s.breakers.state_of("Grid") is BreakerState.PROBING and s.pop_ready(10) == []
    s.retry(probe, 10, due=10, error="HTTP 503", fault=Fault.BACKEND)  # probe failed: 20 s now
    assert s.pop_ready(29.9) == [] and s.next_wakeup(10) == 30.0
    [probe] = s.pop_ready(30)
    s.retry(probe, 30, due=30, error="HTTP 503", fault=Fault.BACKEND)
    assert s.breakers.breakers["Grid"].probe_interval == 25.0  # capped
    [probe] = s.pop_ready(55)
    s.complete(probe, 55)  # the backend answers again
    assert s.breakers.state_of("Grid") is BreakerState.CLOSED
    assert len(s.pop_ready(55)) == 4  # every held operation (the probe itself is done)
    assert s.breakers.breakers["Grid"].trips == 1


def test_a_probe_that_fails_for_its_own_job_still_shows_the_backend_answers() -> None:
    s = scheduler()
    fail_n(s, 3, now=0)
    s.submit(op("bad-job"), 0)
    [probe] = s.pop_ready(10)
    s.complete(probe, 10, error="HTTP 404 no such job", fault=Fault.JOB)
    assert s.breakers.state_of("Grid") is BreakerState.CLOSED


def test_work_a_user_asked_for_is_let_through_and_counts_as_a_probe() -> None:
    s = scheduler()
    fail_n(s, 3, now=0)
    s.submit(op("asked", priority=PriorityClass.USER), 1)
    s.submit(op("periodic", kind=Kind.POLL, priority=PriorityClass.POLL), 1)
    [asked] = s.pop_ready(1)
    assert asked.key == OpKey("asked")
    s.complete(asked, 2)
    assert keys(s.pop_ready(2)) == {"periodic"}


def test_a_full_disk_pauses_every_retrieval_and_finalisation_at_the_first_error() -> None:
    s = scheduler()
    s.submit(op("get", "Grid"), 0)
    [get] = s.pop_ready(0)
    s.retry(get, 0, due=0, error="OSError: [Errno 28] No space left on device", fault=Fault.DISK)
    assert s.breakers.state_of(LOCAL_DISK) is BreakerState.OPEN
    s.submit(op("unpack", "Other", Kind.FINALISE), 1)
    s.submit(op("poll", "Other", Kind.POLL), 1)
    assert keys(s.pop_ready(1)) == {"poll"}  # polls go on: statuses still update
    unpack = s.find(OpKey("unpack"))
    assert unpack is not None and s.reason(unpack, 1).startswith("the local disk is full (breaker open")
    [probe] = s.pop_ready(10)
    s.complete(probe, 10)  # room again
    assert keys(s.pop_ready(10)) == {"unpack"}


def test_work_already_running_when_it_opens_does_not_push_the_probe_back() -> None:
    s = scheduler()
    for n in range(5):
        s.submit(op(f"in-flight-{n}"), 0)
    in_flight = s.pop_ready(0)
    for started in in_flight[:3]:
        s.complete(started, 0, error="HTTP 503", fault=Fault.BACKEND)  # opens: probe at 10
    for started in in_flight[3:]:
        s.complete(started, 1, error="HTTP 503", fault=Fault.BACKEND)  # late failures of older work
    assert s.breakers.breakers["Grid"].probe_at == 10.0


def test_a_held_breaker_lets_no_probe_through_and_only_its_release_closes_it() -> None:
    """A check's hold (missing credential) outlives successes and failures of work that passed it."""
    s = scheduler()
    name = credential_breaker("Grid")
    assert s.breakers.hold(name, 0, "credential GridProxy is missing") is True
    assert s.breakers.hold(name, 5, "credential GridProxy is missing") is False  # said once
    for n, kind in enumerate((Kind.POLL, Kind.RETRIEVE, Kind.FINALISE)):
        s.submit(op(f"w{n}", kind=kind), 5)
    s.submit(op("other", "Other", Kind.POLL), 5)
    assert keys(s.pop_ready(1000)) == {"w2", "other"}  # finalising needs no credential; others go on
    held = s.find(OpKey("w0"))
    assert held is not None and s.reason(held, 1000) == "credential GridProxy is missing (for 1000 s)"
    s.submit(op("asked", kind=Kind.POLL, priority=PriorityClass.USER), 1000)
    [asked] = s.pop_ready(1000)  # someone waits for it: it goes, and is no probe
    assert asked.key == OpKey("asked")
    s.complete(asked, 1001, error="HTTP 401", fault=Fault.BACKEND)
    s.submit(op("asked-again", kind=Kind.POLL, priority=PriorityClass.USER), 1001)
    [asked] = s.pop_ready(1001)
    s.complete(asked, 1002)
    assert s.breakers.state_of(name) is BreakerState.OPEN and s.pop_ready(2000) == []
    assert s.breakers.describe(name, 2000) == "held for 2000 s: credential GridProxy is missing"
    assert s.breakers.release(name) is True
    assert keys(s.pop_ready(2000)) == {"w0", "w1"}
    assert s.breakers.state_of("Grid") is BreakerState.CLOSED  # the service's own breaker never opened
