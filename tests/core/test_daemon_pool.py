"""The daemon thread pool: lazy threads, FIFO, shutdown; and work taken while the interpreter exits."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import CancelledError

import pytest

from GangaMonitoring.runtime.daemon_pool import DaemonThreadPool

WAIT = 20.0


def test_threads_start_lazily_as_daemons_and_idle_ones_are_reused() -> None:
    pool = DaemonThreadPool(3, "test")
    try:
        assert pool.submit(lambda: 1).result(WAIT) == 1
        assert pool.submit(lambda: 2).result(WAIT) == 2  # the idle thread took it: no second thread
        assert pool.threads == 1
        gate = threading.Event()
        busy = [pool.submit(gate.wait, WAIT) for _ in range(5)]  # three run, two queue
        assert pool.threads == 3
        assert all(t.daemon for t in threading.enumerate() if t.name.startswith("test_"))
        gate.set()
        assert all(f.result(WAIT) for f in busy)
    finally:
        pool.shutdown()


def test_a_failure_reaches_the_future_and_the_thread_goes_on() -> None:
    pool = DaemonThreadPool(1, "test")
    try:
        with pytest.raises(KeyError):
            pool.submit(lambda: {}["x"]).result(WAIT)
        assert pool.submit(lambda: "after").result(WAIT) == "after"
    finally:
        pool.shutdown()


def test_shutdown_refuses_new_work_cancels_queued_work_if_asked_and_lets_running_work_end() -> None:
    pool = DaemonThreadPool(1, "test")
    gate, started = threading.Event(), threading.Event()
    running = pool.submit(lambda: (started.set(), gate.wait(WAIT))[1])
    assert started.wait(WAIT)
    queued = pool.submit(lambda: "never")
    pool.shutdown(wait=False, cancel_futures=True)
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(lambda: None)
    with pytest.raises(CancelledError):
        queued.result(WAIT)
    gate.set()
    assert running.result(WAIT) is True


EXITING = """
import atexit, sys, threading
from concurrent.futures import ThreadPoolExecutor
from GangaMonitoring.runtime.daemon_pool import DaemonThreadPool
pool = DaemonThreadPool(2, "ours") if sys.argv[1] == "ours" else ThreadPoolExecutor(2)
pool.submit(lambda: None).result()
def at_exit():  # as Ganga's exit functions: after the main thread ended
    try:
        print("AT EXIT", pool.submit(lambda: "taken").result(10), flush=True)
    except RuntimeError as err:
        print("AT EXIT refused:", err, flush=True)
atexit.register(at_exit)
"""


@pytest.mark.parametrize(("pool", "expected"), [("ours", "AT EXIT taken"),
                                                ("stdlib", "AT EXIT refused: cannot schedule new futures")])
def test_work_is_taken_from_atexit_where_the_standard_pool_refuses_it(pool: str, expected: str) -> None:
    run = subprocess.run([sys.executable, "-c", EXITING, pool], capture_output=True, text=True, timeout=60)
    assert expected in run.stdout, run.stdout + run.stderr


def test_a_call_that_never_returns_does_not_keep_the_process_from_exiting() -> None:
    script = ("import threading\nfrom GangaMonitoring.runtime.daemon_pool import DaemonThreadPool\n"
              "DaemonThreadPool(1, 'ours').submit(threading.Event().wait)\nprint('MAIN DONE', flush=True)\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "MAIN DONE" in run.stdout, run.stdout + run.stderr
