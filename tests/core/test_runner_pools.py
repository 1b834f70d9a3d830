"""The threaded runner and the pools, synchronised with events (no sleeps)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from concurrent.futures.process import BrokenProcessPool

import pytest
from tenacity import stop_after_attempt, wait_fixed

from GangaMonitoring.core.clock import SystemClock
from GangaMonitoring.runtime.pools import Pools
from GangaMonitoring.core.retry import PermanentError, RetryPolicy
from GangaMonitoring.runtime.runner import SchedulerRunner
from GangaMonitoring.core.scheduler import Scheduler
from GangaMonitoring.core.work import Kind, Operation, OpKey, PriorityClass, State

WAIT = 20.0  # generous bound for events: only a broken runner reaches it


def square(x: int) -> int:
    return x * x


def die() -> None:
    os._exit(1)


@pytest.fixture
def runner() -> Iterator[SchedulerRunner]:
    clock = SystemClock()
    pools = Pools({"poll": 1, "io": 2, "cpu": 1, "processes": 1}, clock)
    scheduler = Scheduler({"poll": 1, "io": 2, "cpu": 1})
    policy = RetryPolicy("test", wait=wait_fixed(0), stop=stop_after_attempt(3))
    r = SchedulerRunner(scheduler, pools, clock, lambda kind: policy, max_sleep=0.05)
    r.start()
    yield r
    r.stop()
    r.join(WAIT)
    pools.shutdown(wait=True)


def call(name: str, action, priority: PriorityClass = PriorityClass.POLL, kind: Kind = Kind.CALL) -> Operation:
    return Operation(key=OpKey(name), kind=kind, backend="B", priority=priority, due=0.0, action=action)


def test_ready_work_runs_by_priority_on_a_single_worker(runner: SchedulerRunner) -> None:
    gate, started, order, done = threading.Event(), threading.Event(), [], threading.Event()

    def blocker(op: Operation) -> None:
        started.set()
        gate.wait(WAIT)

    runner.submit(call("blocker", blocker))
    assert started.wait(WAIT)  # the single poll worker is now busy: the rest queue up
    for name, prio in [("queued", PriorityClass.QUEUED), ("poll", PriorityClass.POLL), ("user", PriorityClass.USER)]:
        runner.submit(call(name, lambda op: order.append(op.key.what), prio))
    runner.submit(call("last", lambda op: done.set(), PriorityClass.QUEUED))
    gate.set()
    assert done.wait(WAIT)
    assert order == ["user", "poll", "queued"]


def test_a_failing_operation_is_retried_then_succeeds_and_its_listener_runs_once(runner: SchedulerRunner) -> None:
    attempts, ended = [], []
    finished = threading.Event()

    def flaky(op: Operation) -> None:
        attempts.append(op.attempts)
        if len(attempts) < 3:
            raise OSError("transient")

    runner.submit(call("flaky", flaky), listener=lambda op: (ended.append(op.state), finished.set()))
    assert finished.wait(WAIT)
    assert attempts == [1, 2, 3] and ended == [State.DONE]
    assert [h.event for h in runner.history() if h.key == OpKey("flaky")].count("retry") == 2


def test_a_permanent_error_gives_up_at_once_with_the_reason(runner: SchedulerRunner) -> None:
    finished, seen = threading.Event(), []

    def broken(op: Operation) -> None:
        raise PermanentError("no such job")

    runner.submit(call("broken", broken), listener=lambda op: (seen.append(op.last_error), finished.set()))
    assert finished.wait(WAIT)
    assert seen == ["PermanentError: no such job"]
    assert runner.statistics().failed == {"call": 1}


def test_cancel_tells_listeners(runner: SchedulerRunner) -> None:
    told = threading.Event()
    later = Operation(key=OpKey("later"), kind=Kind.CALL, backend="B", priority=PriorityClass.POLL,
                      due=runner.clock.now() + 3600, action=lambda op: None)
    runner.submit(later, listener=lambda op: told.set())
    assert runner.cancel(OpKey("later"), "test")
    assert told.is_set()


def test_process_pool_runs_plain_functions_and_recovers_from_a_dead_worker(runner: SchedulerRunner) -> None:
    pools = runner.pools
    assert pools.run_in_process(square, 7, timeout=WAIT) == 49
    with pytest.raises(BrokenProcessPool):
        pools.run_in_process(die, timeout=WAIT)
    assert pools.run_in_process(square, 8, timeout=WAIT) == 64  # a new pool replaced the broken one


def test_busy_workers_show_what_they_run(runner: SchedulerRunner) -> None:
    gate, started = threading.Event(), threading.Event()

    def block(op: Operation) -> None:
        started.set()
        gate.wait(WAIT)

    runner.submit(Operation(key=OpKey("dl"), kind=Kind.RETRIEVE, backend="B", priority=PriorityClass.FINALISE,
                            due=0.0, action=block, description="download job 3"))
    assert started.wait(WAIT)
    io = next(p for p in runner.pools.statistics() if p.name == "io")
    assert io.busy == 1 and io.activities[0].description == "download job 3"
    assert io.activities[0].worker.startswith("GangaMon-io")
    gate.set()


def test_worker_processes_log_into_the_ganga_log_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import io
    import logging
    import tarfile

    from GangaMonitoring.drivers.base import FinishedWork
    from GangaMonitoring.drivers.outputs import unpack_retrieved

    log_file = tmp_path / "ganga.log"
    log_file.write_text("a line Ganga wrote\n")
    tarball = tmp_path / "out.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        info = tarfile.TarInfo("stdout")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    work = FinishedWork(job_key=(3, 1), fqid="3.1", backend="B", backend_id=42,
                        outputdir=str(tmp_path / "job" / "output"), final_status="completed")
    pools = Pools({"processes": 1}, SystemClock(), log_file=str(log_file), log_level=logging.DEBUG)
    try:
        assert pools.run_in_process(unpack_retrieved, work, str(tarball), timeout=WAIT) == ["stdout"]
    finally:
        pools.shutdown(wait=True)
    lines = log_file.read_text().splitlines()
    assert lines[0] == "a line Ganga wrote"  # appended, not truncated
    [worker_line] = [line for line in lines if "unpacked 1 file(s) of job 3.1" in line]
    assert "GangaMonitoring.outputs (worker process " in worker_line
    assert f"worker process {os.getpid()})" not in worker_line


def test_worker_processes_run_nicer_than_the_session_by_the_configured_steps() -> None:
    """The prompt's thread gets a core before a finalisation's unpacking ([Monitoring]worker_niceness)."""
    session = os.nice(0)
    nicer = Pools({"processes": 1}, SystemClock(), niceness=7)
    same = Pools({"processes": 1}, SystemClock())
    try:
        assert nicer.run_in_process(os.nice, 0) == min(19, session + 7)
        assert same.run_in_process(os.nice, 0) == session
    finally:
        nicer.shutdown(wait=True)
        same.shutdown(wait=True)


def test_work_for_the_process_pool_once_the_pools_are_shut_down_is_refused_as_pools_closed() -> None:
    """Ganga's TextMerger then merges in the prompt's process instead (patches' ``_NoWorkers``):
    the executor's own refusal ("cannot schedule new futures after shutdown"), raised when the
    pools shut down between finding the process pool and submitting to it, was a plain
    RuntimeError that the patch did not recognise, and the merge failed."""
    from GangaMonitoring.runtime.pools import PoolsClosed

    pools = Pools({"processes": 1}, SystemClock())
    found = pools._process_pool()  # what run_in_process holds when the shutdown comes
    pools.shutdown(wait=True)
    assert found._shutdown_thread  # the executor itself refuses work now
    with pytest.raises(PoolsClosed):
        pools.run_in_process(os.getpid)
    original = pools._process_pool
    pools._process_pool = lambda: found  # type: ignore[method-assign]  # the race, made certain
    with pytest.raises(PoolsClosed, match="cannot schedule"):
        pools.run_in_process(os.getpid)
    pools._process_pool = original  # type: ignore[method-assign]


def test_workers_never_run_the_parent_s_main_script_nor_touch_its_main_module(tmp_path: Path) -> None:
    """Ganga's ``ganga`` script has no ``__main__`` guard: a spawned worker would start a second Ganga."""
    runs = tmp_path / "main-runs"
    env = {**os.environ, "GM_MAIN_RUNS": str(runs)}
    env.pop("GM_POOL_PARENT", None)
    answer = subprocess.run([sys.executable, str(Path(__file__).with_name("clean_worker_child.py"))], env=env,
                            capture_output=True, text=True, timeout=120, check=True)
    seen = json.loads(answer.stdout.strip().splitlines()[-1])
    assert runs.read_text().split() == [str(seen["parent"])]  # the parent alone ran it
    assert seen["workers"] and seen["parent"] not in seen["workers"]  # the work ran in other processes
    assert seen["swapped"] == 0  # the prompt's __main__ stayed in place throughout


def test_work_cut_short_by_the_sessions_end_is_abandoned_not_failed_nor_retried(runner: SchedulerRunner) -> None:
    """PoolsClosed (the pools shut down, the interpreter exiting) is nobody's failure: the operation ends
    CANCELLED, is not retried, counts as no failure, and a listener that marks jobs failed on a DONE with an
    error (the pipeline's give-up) sees no such thing."""
    from GangaMonitoring.runtime.pools import PoolsClosed

    finished, seen, attempts = threading.Event(), [], []

    def cut(op: Operation) -> None:
        attempts.append(op.attempts)
        raise PoolsClosed("the interpreter is exiting")

    runner.submit(call("cut", cut, kind=Kind.FINALISE), listener=lambda op: (seen.append(op.state), finished.set()))
    assert finished.wait(WAIT)
    assert attempts == [1] and seen == [State.CANCELLED]
    assert runner.statistics().failed == {}
    assert [h.event for h in runner.history() if h.key == OpKey("cut")][-1] == "abandoned"
