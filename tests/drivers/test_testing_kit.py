"""The conformance kit catches what it promises to: a driver that keeps the contract passes every check,
and each deliberately broken one fails the check of the promise it breaks, and only that."""

from __future__ import annotations

import functools
import itertools
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from GangaMonitoring.core.retry import PollFailed
from GangaMonitoring.drivers.base import DriverContext, FinishedWork, NativeDriver, apply_each, job_key
from GangaMonitoring.testing import (
    CHECKS,
    ConformanceError,
    DriverConformance,
    FakeJob,
    RecordingContext,
    Scenario,
    check_driver,
)

# -- a service, and a driver that keeps the contract -----------------------------------------------


class Service:
    """An in-memory backend service that answers "what changed since cursor", as SimGrid's and DIRAC's do."""

    def __init__(self) -> None:
        self.states: dict[int, str] = {}
        self.log: list[int] = []
        self._ids = itertools.count(100)
        self._lock = threading.Lock()

    def add(self, state: str) -> int:
        with self._lock:
            job_id = next(self._ids)
            self.states[job_id] = state
            self.log.append(job_id)
            return job_id

    def change(self, job_id: int, state: str) -> None:
        with self._lock:
            self.states[job_id] = state
            self.log.append(job_id)

    def status(self, ids: Sequence[int]) -> tuple[dict[int, str], list[int]]:
        with self._lock:
            return {i: self.states[i] for i in ids if i in self.states}, [i for i in ids if i not in self.states]

    def changes(self, cursor: int) -> tuple[int, set[int]]:
        with self._lock:
            return len(self.log), set(self.log[cursor:])


@dataclass
class Backend:
    id: int


def unpack_output(work: FinishedWork, path: str) -> list[str]:
    """Unpack (here: copy) the retrieved file to the output dir's ``stdout``; idempotent."""
    with open(path, encoding="utf-8") as retrieved:
        text = retrieved.read()
    with open(os.path.join(work.outputdir, "stdout"), "w", encoding="utf-8") as out:
        out.write(text)
    return ["stdout"]


def unpack_appending(work: FinishedWork, path: str) -> list[str]:
    with open(path, encoding="utf-8") as retrieved, \
            open(os.path.join(work.outputdir, "stdout"), "a", encoding="utf-8") as out:
        out.write(retrieved.read())
    return ["stdout"]


class GoodDriver(NativeDriver):
    """Reads the full status of jobs it has not seen, then only what changed, per scope."""

    backend = "Memory"
    unpack = staticmethod(unpack_output)

    def __init__(self, service: Service) -> None:
        self.service = service
        self._lock = threading.Lock()
        self._cursor: dict[str, int] = {}
        self._seen: dict[str, set[int]] = {}

    def scope_key(self, scope: str) -> str:
        return scope

    def poll(self, jobs: Sequence[Any], ctx: DriverContext, scope: str = "") -> None:
        by_id = {job.backend.id: job for job in jobs}
        key = self.scope_key(scope)
        with self._lock:
            cursor, seen = self._cursor.get(key), set(self._seen.get(key, set()))
        new_cursor, changed = self.service.changes(cursor or 0)
        read = (set(by_id) - seen) | (changed & set(by_id) if cursor is not None else set())
        states, unknown = self.service.status(sorted(read))
        failures = self.apply_all(ctx, [(by_id[i], state) for i, state in states.items()])
        for job_id in unknown:
            failures.append(f"job {job_id}: unknown")
            self.report_unknown(ctx, by_id[job_id])
        with self._lock:
            self._cursor[key] = new_cursor
            self._seen.setdefault(key, set()).update(set(states))
        if failures:
            raise PollFailed("; ".join(failures))

    def apply_all(self, ctx: DriverContext, answers: list[tuple[Any, str]]) -> list[str]:
        return apply_each(ctx, answers, functools.partial(self.apply, ctx=ctx))

    def report_unknown(self, ctx: DriverContext, job: Any) -> None:
        ctx.job_failed(job, "the service does not know it")

    def apply(self, job: Any, state: str, ctx: DriverContext) -> None:
        if job.status == "completing":
            return
        if state == "Running" and job.status != "running":
            self.set_status(job, "running")
        elif state == "Done":
            ctx.hand_over(job, self.work_for(job))
        elif state == "Killed":
            self.set_status(job, "killed")

    def set_status(self, job: Any, status: str) -> None:
        job.updateStatus(status, update_master=False)

    def work_for(self, job: Any) -> FinishedWork:
        return FinishedWork(job_key=job_key(job), fqid=job.getFQID("."), backend=self.backend,
                            backend_id=job.backend.id, outputdir=job.outputdir, final_status="completed")

    def retrieve(self, work: FinishedWork) -> str:
        final = os.path.join(work.outputdir, f".output-{work.backend_id}")
        partial = f"{final}.part"
        with open(partial, "w", encoding="utf-8") as out:
            out.write(f"output of {work.backend_id}\n")
        os.replace(partial, final)
        return final

    def finish(self, job: Any, work: FinishedWork, files: list[str]) -> None:
        job.updateStatus(work.final_status, update_master=False)

    def release(self, work: FinishedWork) -> None:
        with self._lock:
            for seen in self._seen.values():
                seen.discard(work.backend_id)


class MemoryScenario(Scenario):
    STATES = {"running": "Running", "done": "Done"}

    def __init__(self, service: Service) -> None:
        self.service = service

    def backend(self, state: str) -> Backend:
        if state == "unknown":
            return Backend(10**6 + self.service.add("Running"))  # an id the service never gave
        return Backend(self.service.add(self.STATES[state]))

    def end(self, job: FakeJob) -> None:
        self.service.change(job.backend.id, "Killed")


# -- broken drivers: each breaks one promise --------------------------------------------------------


class PollsNoEmptyList(GoodDriver):
    def poll(self, jobs: Sequence[Any], ctx: DriverContext, scope: str = "") -> None:
        first = jobs[0]  # "there is always a job"
        super().poll([first, *jobs[1:]], ctx, scope)


class HandsOverAgain(GoodDriver):
    def apply(self, job: Any, state: str, ctx: DriverContext) -> None:
        if state == "Done":
            ctx.hand_over(job, self.work_for(job))  # even when completing
        else:
            super().apply(job, state, ctx)


class KeysSubjobsAsJobs(GoodDriver):
    def work_for(self, job: Any) -> FinishedWork:
        return FinishedWork(job_key=(job.id, None), fqid=str(job.id), backend=self.backend,
                            backend_id=job.backend.id, outputdir=job.outputdir, final_status="completed")


class HandsOverItsBackend(GoodDriver):
    def work_for(self, job: Any) -> FinishedWork:
        work = super().work_for(job)
        return FinishedWork(**{**work.__dict__, "detail": threading.Lock()})  # a live object, not data


class UnpacksWithALambda(GoodDriver):
    unpack = staticmethod(lambda work, path: unpack_output(work, path))


class RaisesForUnknownJobs(GoodDriver):
    def report_unknown(self, ctx: DriverContext, job: Any) -> None:
        raise RuntimeError(f"HTTP 404 unknown job {job.backend.id}")


class IgnoresUnknownJobs(GoodDriver):
    def report_unknown(self, ctx: DriverContext, job: Any) -> None:
        pass


class NoPerJobErrors(GoodDriver):
    def apply_all(self, ctx: DriverContext, answers: list[tuple[Any, str]]) -> list[str]:
        for job, state in answers:
            self.apply(job, state, ctx)
        return []


class PollRollsMasterUp(GoodDriver):
    def set_status(self, job: Any, status: str) -> None:
        job.updateStatus(status)


class FinishRollsMasterUp(GoodDriver):
    def finish(self, job: Any, work: FinishedWork, files: list[str]) -> None:
        job.updateStatus(work.final_status)


class WritesInPlace(GoodDriver):
    def retrieve(self, work: FinishedWork) -> str:
        final = os.path.join(work.outputdir, f".output-{work.backend_id}")
        with open(final, "w", encoding="utf-8") as out:
            out.write(f"output of {work.backend_id}\n")
        return final


class ReleasesNothing(GoodDriver):
    def release(self, work: FinishedWork) -> None:
        pass


class UnpacksAppending(GoodDriver):
    unpack = staticmethod(unpack_appending)


class OneCursorForAllScopes(GoodDriver):
    def scope_key(self, scope: str) -> str:
        return ""


class RunsTheStockUpdate(GoodDriver):
    def poll(self, jobs: Sequence[Any], ctx: DriverContext, scope: str = "") -> None:
        ctx.run_stock_update(jobs)
        super().poll(jobs, ctx, scope)


def failing_checks(driver_class: type[GoodDriver]) -> set[str]:
    service = Service()
    try:
        check_driver(lambda: driver_class(service), lambda: MemoryScenario(service))
    except ConformanceError as err:
        return set(err.failures)
    return set()


def test_a_driver_that_keeps_the_contract_passes_every_check() -> None:
    service = Service()
    outcomes = check_driver(lambda: GoodDriver(service), lambda: MemoryScenario(service))
    assert outcomes == {name: "passed" for name in CHECKS}


@pytest.mark.parametrize(("broken", "caught_by"), [
    (PollsNoEmptyList, {"empty_poll"}),
    (HandsOverAgain, {"hand_over_once"}),
    (KeysSubjobsAsJobs, {"finished_work_is_plain_data"}),
    (HandsOverItsBackend, {"finished_work_is_plain_data"}),
    (UnpacksWithALambda, {"finished_work_is_plain_data"}),
    (RaisesForUnknownJobs, {"unknown_job_is_that_jobs_trouble"}),
    (IgnoresUnknownJobs, {"unknown_job_is_that_jobs_trouble"}),
    (NoPerJobErrors, {"bad_job_is_that_jobs_trouble"}),
    (PollRollsMasterUp, {"subjobs_leave_their_master"}),
    (FinishRollsMasterUp, {"subjobs_leave_their_master"}),
    (WritesInPlace, {"retrieve_leaves_no_half_file"}),
    (ReleasesNothing, {"release_forgets_the_job"}),
    (UnpacksAppending, {"finalising_twice_is_harmless"}),
    (OneCursorForAllScopes, {"scopes_keep_their_own_state"}),
    (RunsTheStockUpdate, set(CHECKS)),  # the scenario gives no stand-in for the backend's own update
], ids=lambda value: value.__name__ if isinstance(value, type) else "")
def test_each_broken_driver_fails_the_check_of_the_promise_it_breaks(broken: type[GoodDriver],
                                                                      caught_by: set[str]) -> None:
    assert failing_checks(broken) == caught_by


def test_the_base_drivers_finish_leaves_the_master_alone() -> None:
    """NativeDriver's default ``finish`` is what a driver that does not override it gets."""

    class DefaultFinish(GoodDriver):
        finish = NativeDriver.finish

    assert "subjobs_leave_their_master" not in failing_checks(DefaultFinish)


def test_hand_over_checks_do_not_apply_to_a_driver_whose_jobs_end_in_place() -> None:
    class EndsInPlace(MemoryScenario):
        hands_over = False

    service = Service()
    outcomes = check_driver(lambda: GoodDriver(service), lambda: EndsInPlace(service))
    assert {name for name, outcome in outcomes.items() if outcome.startswith("not applicable")} == {
        "hand_over_once", "finished_work_is_plain_data", "retrieve_leaves_no_half_file",
        "release_forgets_the_job", "finalising_twice_is_harmless"}


def test_a_scenario_that_cannot_end_a_job_skips_the_scope_check() -> None:
    class NoEnd(MemoryScenario):
        def end(self, job: FakeJob) -> None:
            raise NotImplementedError

    service = Service()
    outcomes = check_driver(lambda: GoodDriver(service), lambda: NoEnd(service), ["scopes_keep_their_own_state"])
    assert outcomes["scopes_keep_their_own_state"].startswith("not applicable")


def test_fake_jobs_and_the_recording_context_behave_as_ganga_and_the_pipeline_do() -> None:
    master = FakeJob(7, None, "running")
    sub = FakeJob(3, Backend(1), "submitted", master)
    assert master.subjobs == [sub] and sub.getFQID(".") == "7.3" and job_key(sub) == (7, 3)
    ctx = RecordingContext(stock_update=lambda jobs: None)
    ctx.run_stock_update([sub])
    ctx.hand_over(sub, GoodDriver(Service()).work_for(sub))
    assert sub.status == "completing" and sub.updates[-1].update_master is False
    assert ctx.handed == ["7.3"] and ctx.stock_updates == [["7.3"]] and ctx.told_of(sub)
    sub.broken = "refuses"
    with pytest.raises(RuntimeError, match="7.3 cannot become failed: refuses"):
        ctx.job_ended(sub, "failed", "gone")
    with pytest.raises(AssertionError, match="no stock_update"):
        RecordingContext().run_stock_update([sub])


def test_driver_conformance_has_one_test_per_check() -> None:
    tests = {name.removeprefix("test_") for name in dir(DriverConformance) if name.startswith("test_")}
    assert tests == set(CHECKS)  # a check added to CHECKS without its test would never run under pytest


class TestGoodDriverUnderPytest(DriverConformance):
    """``DriverConformance`` gives one test per check."""

    def make_driver(self) -> NativeDriver:
        return GoodDriver(self.service)

    def make_scenario(self) -> Scenario:
        self.service = Service()
        return MemoryScenario(self.service)
