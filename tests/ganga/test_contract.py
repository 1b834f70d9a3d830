"""The monitoring contract (GANGA_NOTES §1.2): every member Ganga code uses exists and behaves."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from typing import Any

import pytest

from GangaMonitoring.core.planner import POLL, POLL_QUEUED

from .conftest import ganga_options, wait_for

pytestmark = pytest.mark.ganga


def component() -> Any:
    from GangaCore.Core import monitoring_component

    return monitoring_component


def test_bootstrap_builds_our_component_as_a_ganga_thread(ganga_session: Any) -> None:
    from GangaCore.Core.GangaThread import GangaThread
    from GangaMonitoring.integration.component import MonitoringComponent

    mc = component()
    assert isinstance(mc, MonitoringComponent)
    assert isinstance(mc, GangaThread)
    assert mc.is_alive() and mc.alive
    assert mc.isCritical() in (True, False)
    assert mc.gangaName == "GangaMonitoring"
    assert mc.should_stop() is False


def test_runMonitoring_is_exported_to_the_gpi_bound_to_our_component(ganga_session: Any) -> None:
    exported = ganga_session.runMonitoring
    assert getattr(exported, "__self__", None) is component()


def test_loop_runs_and_accepts_create_task_from_its_thread_and_from_others(ganga_session: Any) -> None:
    loop = component().loop
    assert loop.is_running()
    ran: dict[str, str] = {}
    done = threading.Event()

    async def record(tag: str) -> None:
        ran[tag] = threading.current_thread().name
        if len(ran) == 2:
            done.set()

    loop.create_task(record("from-main-thread"))  # as DiracBase.finalise_jobs does
    loop.call_soon_threadsafe(lambda: loop.create_task(record("from-loop")))  # as Dirac's monitoring does
    assert done.wait(10)
    assert ran["from-main-thread"] == ran["from-loop"] == component().name


def test_enable_is_idempotent_and_disable_stops_periodic_work(ganga_session: Any) -> None:
    from GangaMonitoring.integration.component import RECONCILE_KEY

    mc = component()
    assert mc.enabled
    assert mc.enable() is True and mc.enable() is True
    keys = [op.key for op in mc.runner.pending()] + [op.key for op in mc.runner.running()]
    assert keys.count(RECONCILE_KEY) <= 2  # at most one pending + one running
    assert mc.disable() is True
    assert not mc.enabled
    assert all(op.key.what not in (POLL, POLL_QUEUED) for op in mc.runner.pending())


def test_run_monitoring_task_calls_sync_tasks_with_jobs_keyword_and_async_tasks(ganga_session: Any) -> None:
    mc = component()
    j = ganga_session.Job(backend=ganga_session.TestSubmitter(time=60))
    seen: list[tuple[str, Any]] = []
    done = threading.Event()

    def sync_task(*, jobs: Any) -> None:
        seen.append(("sync", [x.id for x in jobs]))
        done.set()

    async def async_task(jobs: Any) -> None:
        seen.append(("async", [x.id for x in jobs]))
        done.set()

    mc.run_monitoring_task(sync_task, [j])
    assert done.wait(10)
    done.clear()
    mc.run_monitoring_task(async_task, [j])
    assert done.wait(10)
    assert seen == [("sync", [j.id]), ("async", [j.id])]


def test_run_monitoring_task_does_nothing_while_disabled(ganga_session: Any) -> None:
    mc = component()
    mc.disable()
    called = threading.Event()
    mc.run_monitoring_task(lambda jobs: called.set(), [])
    mc.enable()
    # an operation submitted after the disabled call runs; the disabled one never did
    marker = threading.Event()
    mc.run_monitoring_task(lambda jobs: marker.set(), [])
    assert marker.wait(10)
    assert not called.is_set()


def test_stop_is_final_idempotent_and_makes_should_stop_true(gangadir: str) -> None:
    from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga

    start_ganga(gangadir, extra_opts=ganga_options())
    mc = component()
    loop = mc.loop
    stop_ganga()
    assert mc.alive is False and mc.enabled is False
    assert mc.should_stop() is True
    mc.stop()  # Ganga's thread pool calls stop() a second time at exit
    mc.join()
    assert wait_for(lambda: not mc.is_alive(), timeout=10)
    assert loop.is_closed()
    assert mc.enable() is False and mc.disable() is False
    assert mc.runMonitoring() is False


def test_unloaded_package_leaves_stock_ganga_untouched(gangadir: str, tmp_path: Any) -> None:
    """After a session with us, a session without us gets stock monitoring and stock Job.status."""
    from GangaCore.Core.MonitoringComponent.MonitoringService import AsyncMonitoringService
    from GangaCore.GPIDev.Base.Objects import Descriptor
    from GangaCore.GPIDev.Lib.Job.Job import Job
    from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga

    from GangaMonitoring import patches

    start_ganga(gangadir, extra_opts=ganga_options())
    stop_ganga()
    assert not patches.is_applied()
    assert type(Job.__dict__["status"]) is Descriptor
    assert not hasattr(sys._current_frames, "__wrapped__")  # the frames guard is undone too
    start_ganga(str(tmp_path / "stock"), extra_opts=[("Configuration", "RUNTIME_PATH", "GangaTest")])
    try:
        from GangaCore.Core import monitoring_component

        assert type(monitoring_component) is AsyncMonitoringService
        assert type(Job.__dict__["status"]) is Descriptor
    finally:
        stop_ganga()


def test_loop_is_a_real_asyncio_loop_for_coroutine_backends(ganga_session: Any) -> None:
    loop = component().loop
    future = asyncio.run_coroutine_threadsafe(asyncio.sleep(0, result=42), loop)
    assert future.result(10) == 42


def test_two_first_polls_of_a_backend_at_once_build_one_driver(ganga_session: Any, monkeypatch: Any) -> None:
    """Issue 18, correctness 2: a driver keeps state between its poll and the work it hands over
    (Dirac's handed-over jobs), so a second instance built by a concurrent first poll lost jobs."""
    from GangaMonitoring.integration import polling as polling_module
    from GangaMonitoring.drivers.simgrid import SimGridDriver

    comp = component()
    comp.native_drivers.pop("SimGrid", None)
    building = threading.Barrier(2, timeout=5)
    built: list[Any] = []

    def slow_make(backend: str) -> Any:
        built.append(backend)
        with contextlib.suppress(threading.BrokenBarrierError):
            building.wait(timeout=1)  # the second caller reaches here only if it was let in too
        return SimGridDriver()

    monkeypatch.setattr(polling_module, "make_native_driver", slow_make)
    found: list[Any] = []
    threads = [threading.Thread(target=lambda: found.append(comp.polling.native_driver("SimGrid"))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(found) == 2 and found[0] is found[1] is comp.native_drivers["SimGrid"]
    assert built == ["SimGrid"]
