"""Parts of the component tested without a Ganga session: bisection, the runMonitoring wait, give-up.

Each runs on the real scheduler, runner and pools; only Ganga's jobs are
stood in for (a job here is an object with a status, as the pipeline sees it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from tenacity import stop_after_attempt, wait_fixed

from GangaMonitoring.core.clock import FakeClock, SystemClock
from GangaMonitoring.core.index import ActiveJobIndex
from GangaMonitoring.runtime.isolate import CallBudget, isolate
from GangaMonitoring.runtime.pools import Pools
from GangaMonitoring.core.retry import RetryPolicy
from GangaMonitoring.runtime.runner import SchedulerRunner
from GangaMonitoring.core.scheduler import Scheduler
from GangaMonitoring.core.work import Operation
from GangaMonitoring.integration.pipeline import OutputPipeline
from GangaMonitoring.integration.requests import UserRequests
from GangaMonitoring.drivers.base import FinishedWork

WAIT = 20.0  # a bound for events only a broken runner reaches


@pytest.fixture
def runner() -> Iterator[SchedulerRunner]:
    clock = SystemClock()
    pools = Pools({"poll": 2, "io": 1, "cpu": 1, "processes": 1}, clock)
    policy = RetryPolicy("test", wait=wait_fixed(0), stop=stop_after_attempt(2))
    r = SchedulerRunner(Scheduler({"poll": 2, "io": 1, "cpu": 1}), pools, clock, lambda kind: policy, max_sleep=0.05)
    r.start()
    yield r
    r.stop()
    r.join(WAIT)
    pools.shutdown(wait=True)


# -- bisection ------------------------------------------------------------------------


def test_bisection_finds_each_bad_job_and_updates_every_good_one() -> None:
    bad = {3, 12}
    updated: list[int] = []

    def update(batch: list[int]) -> None:
        if bad & set(batch):
            raise RuntimeError(f"job {min(bad & set(batch))} is corrupt")
        updated.extend(batch)

    outcome = isolate(update, list(range(16)), CallBudget(40))
    assert sorted(updated) == sorted(set(range(16)) - bad)
    assert sorted(job for batch, _ in outcome.failures for job in batch) == [3, 12]
    assert outcome.succeeded and outcome.failed_items == 2


def test_bisection_stops_at_its_budget_and_reports_what_is_left_failed_whole() -> None:
    calls: list[list[int]] = []

    def down(batch: list[int]) -> None:
        calls.append(batch)
        raise ConnectionError("the service is down")

    outcome = isolate(down, list(range(64)), CallBudget(5))
    assert len(calls) <= 5  # not the 127 calls halving down to single jobs would make
    assert not outcome.succeeded
    assert sorted(job for batch, _ in outcome.failures for job in batch) == list(range(64))  # none lost


# -- the runMonitoring wait -------------------------------------------------------------


class Polls:
    """Stands in for ``Polling``: each poll records itself and waits for its backend's gate."""

    def __init__(self) -> None:
        self.gates = {"A": threading.Event(), "B": threading.Event()}
        self.ran: list[tuple[str, str]] = []
        self.b_polled = threading.Event()
        self._lock = threading.Lock()

    def poll_action(self, backend: str, group: str) -> Any:
        def action(_op: Operation) -> None:
            with self._lock:
                self.ran.append((backend, group))
            assert self.gates[backend].wait(WAIT)
            if backend == "B":
                self.b_polled.set()
        return action

    poll_ids_action = poll_action


def requests_on(runner: SchedulerRunner, clock: Any) -> tuple[UserRequests, Polls]:
    index = ActiveJobIndex()
    index.update(1, "A", "running", now=0.0)
    index.update(2, "B", "submitted", now=0.0)
    polls = Polls()
    return UserRequests(None, index, runner, clock, polls, None), polls  # type: ignore[arg-type]


def test_run_monitoring_waits_until_every_backend_was_polled(runner: SchedulerRunner) -> None:
    requests, polls = requests_on(runner, runner.clock)
    polls.gates["A"].set()
    result: list[bool] = []
    waiting = threading.Thread(target=lambda: result.append(requests.run_monitoring(None, 1, WAIT)))
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive() and not result  # B's polls have not ended
    polls.gates["B"].set()
    waiting.join(WAIT)
    assert result == [True]
    assert sorted(polls.ran) == [("A", "poll"), ("A", "poll-queued"), ("B", "poll"), ("B", "poll-queued")]


def test_run_monitoring_says_false_at_its_deadline_and_the_polls_go_on(runner: SchedulerRunner) -> None:
    clock = FakeClock()  # the wait's deadline is on the component's clock: 0 s left at once
    requests, polls = requests_on(runner, clock)
    polls.gates["A"].set()
    assert requests.run_monitoring(None, 1, 0.0) is False
    polls.gates["B"].set()
    assert polls.b_polled.wait(WAIT)  # nothing was cancelled: the polls end on their own


def test_each_step_of_run_monitoring_polls_again(runner: SchedulerRunner) -> None:
    requests, polls = requests_on(runner, runner.clock)
    for gate in polls.gates.values():
        gate.set()
    assert requests.run_monitoring(None, 3, WAIT) is True
    assert polls.ran.count(("A", "poll")) == 3 and polls.ran.count(("B", "poll-queued")) == 3


# -- give-up -> failed ---------------------------------------------------------------------


class Job:
    """What the pipeline reads and writes of a job: its status."""

    def __init__(self) -> None:
        self.status = "running"
        self.updated = threading.Event()

    def updateStatus(self, status: str, update_master: bool = True) -> None:  # noqa: N802 - Ganga's name
        self.status = status
        if status == "failed":
            self.updated.set()


class UnreachableOutput:
    """A driver whose retrieval always fails."""

    backend = "B"

    def __init__(self) -> None:
        self.released: list[FinishedWork] = []

    def retrieve(self, work: FinishedWork) -> str:
        raise ConnectionError("the output store is gone")

    def release(self, work: FinishedWork) -> None:
        self.released.append(work)


def test_output_that_cannot_be_retrieved_fails_its_job_with_the_reason_and_releases_the_work(
        runner: SchedulerRunner, tmp_path: Any) -> None:
    job = Job()
    pipeline = OutputPipeline(runner, run_in_process=lambda *a, **k: None, find_job=lambda key: job,
                              failed_subjob=lambda backend, master: None, call_inline=lambda task, jobs: None)
    driver = UnreachableOutput()
    pipeline.drivers["B"] = driver  # type: ignore[assignment]
    work = FinishedWork(job_key=(7, None), fqid="7", backend="B", backend_id="b-7", outputdir=str(tmp_path),
                        final_status="completed")
    pipeline.hand_over(job, work)
    assert job.updated.wait(WAIT)  # two attempts (the policy's stop), then given up
    assert job.status == "failed"
    key, reason = pipeline.output_failures["7"]
    assert key == (7, None) and "output not retrieved" in reason and "output store is gone" in reason
    assert driver.released == [work]


def test_work_for_a_job_removed_meanwhile_is_dropped_not_failed(runner: SchedulerRunner, tmp_path: Any) -> None:
    job = Job()
    present = {"job": job}
    pipeline = OutputPipeline(runner, run_in_process=lambda *a, **k: None, find_job=lambda key: present.get("job"),
                              failed_subjob=lambda backend, master: None, call_inline=lambda task, jobs: None)
    released = threading.Event()
    driver = SimpleNamespace(backend="B", released=[], retrieve=lambda work: "never",
                             release=lambda work: (driver.released.append(work), released.set()))
    pipeline.drivers["B"] = driver  # type: ignore[assignment]
    work = FinishedWork(job_key=(8, None), fqid="8", backend="B", backend_id="b-8", outputdir=str(tmp_path),
                        final_status="completed")
    job.status = "completing"
    present.clear()  # removed before its retrieval ran
    pipeline.hand_over(job, work)
    assert released.wait(WAIT)
    assert job.status == "completing" and pipeline.output_failures == {} and driver.released == [work]
