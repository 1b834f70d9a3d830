"""Patches item 17: a master's subjob statuses from counts kept up to date, equal to reading every subjob."""

from __future__ import annotations

import contextlib
import gc
import os
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from GangaMonitoring.repository.rollup import SubjobStatuses

from .conftest import ganga_running
from .test_flush_cost import KEEP

STATES = ["submitted", "running", "completing", "completed", "failed", "killed"]


def stock_statuses(job: Any) -> set[str]:
    return {subjob.status for subjob in job.subjobs}


def force(subjob: Any, status: str) -> None:
    subjob.status = status  # a Descriptor write, as Ganga's updateStatus does once the transition is allowed


@pytest.mark.ganga
def test_the_counted_statuses_equal_every_subjob_s_status_after_each_change(gangadir: str) -> None:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    from GangaMonitoring import patches

    with ganga_running(gangadir, KEEP) as gpi:
        job = gpi.Job(splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(40)]))
        job.submit()
        job.force_status("failed", force=True)
        raw = stripProxy(job)
        counted = patches.SUBJOB_STATUSES
        assert raw.getSubJobStatuses() == stock_statuses(raw)
        scans = counted.scans
        rng = random.Random(7)
        for _ in range(300):
            force(raw.subjobs[rng.randrange(40)], rng.choice(STATES))
            assert raw.getSubJobStatuses() == stock_statuses(raw)
        assert counted.scans == scans and counted.changes > 100  # one scan, then kept up to date
        job_id = job.id
    with ganga_running(gangadir, KEEP) as gpi:  # a master loaded from disk (its subjobs a SubJobXMLList)
        raw = stripProxy(gpi.jobs(job_id))
        assert raw.getSubJobStatuses() == stock_statuses(raw)
        rng = random.Random(8)
        for _ in range(100):
            force(raw.subjobs[rng.randrange(40)], rng.choice(STATES))
            assert raw.getSubJobStatuses() == stock_statuses(raw)
        for subjob in raw.subjobs:
            subjob.status = "completed"
        raw.subjobs[3].status = "running"
        assert raw.getSubJobStatuses() == {"completed", "running"}


@pytest.mark.ganga
def test_a_master_s_roll_up_reads_no_subjob_status_once_counted(
        ganga_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from GangaCore.GPIDev.Base.Proxy import stripProxy
    from GangaCore.GPIDev.Lib.Job.Job import Job

    gpi = ganga_session
    job = gpi.Job(backend=gpi.TestSubmitter(time=3600), splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(30)]))
    job.submit()
    raw = stripProxy(job)
    for subjob in raw.subjobs:
        if subjob.id != 5:
            subjob.status = "running"
    assert raw.getSubJobStatuses() == {"submitted", "running"}
    watch = Job.__dict__["status"]
    read: list[Any] = []
    get = type(watch).__get__

    def counting(self: Any, obj: Any, cls: Any = None) -> Any:
        if obj is not None and obj._getParent() is raw:
            read.append(obj)
        return get(self, obj, cls)

    monkeypatch.setattr(type(watch), "__get__", counting)
    raw.subjobs[5].updateStatus("running", transition_update=False)  # update_master: Ganga rolls up
    assert raw.status == "running"
    assert [subjob for subjob in read if subjob is not raw.subjobs[5]] == []  # stock: all 30, at every change


class Subjobs(list):  # type: ignore[type-arg]
    """A container that can be weakly referenced, as Ganga's ``GangaList`` and ``SubJobXMLList`` can."""


class FakeJob:
    def __init__(self, parent: Any = None, status: str = "new") -> None:
        self._parent = parent
        self._data = {"status": status}
        self.subjobs: list[FakeJob] = Subjobs()
        self._lock = threading.RLock()

    def _getParent(self) -> Any:  # noqa: N802 - Ganga's name
        return self._parent

    @property
    def status(self) -> str:
        time.sleep(0)  # lets other threads run between two reads of a scan (a race to find, not a wait)
        return self._data["status"]

    @status.setter
    def status(self, value: str) -> None:
        self._data["status"] = value

    @property
    @contextlib.contextmanager
    def const_lock(self) -> Iterator[None]:
        root = self if self._parent is None else self._parent
        with root._lock:
            yield

    def set_status(self, counted: SubjobStatuses, status: str) -> None:
        """As Ganga's descriptor does with the watch: write under the root's lock, then tell the listener."""
        with self.const_lock:
            self.status = status
        counted.changed(self, status)


def test_new_subjobs_are_counted_anew() -> None:
    counted = SubjobStatuses()
    master = FakeJob()
    master.subjobs = Subjobs(FakeJob(master, "running") for _ in range(3))
    assert counted.statuses(master) == {"running"}
    master.subjobs[0].set_status(counted, "completed")
    assert counted.statuses(master) == {"running", "completed"} and counted.scans == 1
    master.subjobs = Subjobs(FakeJob(master, "submitted") for _ in range(3))  # split again: the same size
    assert counted.statuses(master) == {"submitted"} and counted.scans == 2
    master.subjobs.append(FakeJob(master, "failed"))  # one more subjob in the same container
    assert counted.statuses(master) == {"submitted", "failed"} and counted.scans == 3
    master.subjobs[0].set_status(counted, "submitted")  # no change
    orphan = FakeJob(None, "running")
    orphan.set_status(counted, "completed")  # not a subjob: nothing to count
    assert counted.statuses(master) == {"submitted", "failed"}


def test_two_writers_listeners_arriving_out_of_order_leave_the_counts_exact() -> None:
    """Ganga's setter lets the lock go before the listeners: writer 1's listener may run after writer 2's."""
    counted = SubjobStatuses()
    master = FakeJob()
    master.subjobs = Subjobs(FakeJob(master, "submitted") for _ in range(2))
    assert counted.statuses(master) == {"submitted"}
    subjob = master.subjobs[0]
    with subjob.const_lock:
        subjob.status = "running"  # writer 1 writes; its listener is late
    subjob.set_status(counted, "completed")  # writer 2 writes and is told
    counted.changed(subjob, "running")  # writer 1's listener, with the status it wrote (stale now)
    assert counted.statuses(master) == {"submitted", "completed"} == stock_statuses(master)
    master.subjobs[1].set_status(counted, "completed")
    assert counted.statuses(master) == {"completed"}


def test_the_check_repairs_a_mismatch_found_at_two_checks_in_a_row() -> None:
    counted = SubjobStatuses()
    master = FakeJob()
    master.subjobs = Subjobs(FakeJob(master, "running") for _ in range(3))
    assert counted.statuses(master) == {"running"}
    assert counted.check() == 0  # nothing wrong
    with master.subjobs[1].const_lock:
        master.subjobs[1].status = "completed"  # a write whose listener has not run (or was lost)
    assert counted.check() == 0  # may be in flight: only noted
    assert counted.statuses(master) == {"running"}
    assert counted.check() == 1  # the same at the next check: repaired
    assert counted.statuses(master) == {"running", "completed"} == stock_statuses(master)
    assert counted.repairs == 1
    counted.changed(master.subjobs[1], "completed")  # the late listener: nothing more to move
    assert counted.statuses(master) == {"running", "completed"}
    with master.subjobs[2].const_lock:
        master.subjobs[2].status = "failed"
    assert counted.check() == 0
    master.subjobs[2].set_status(counted, "failed")  # its listener ran between two checks: no repair
    assert counted.check() == 0 and counted.repairs == 1
    records = counted._records.get(master)
    assert records is not None and +records.counts == {"running": 1, "completed": 1, "failed": 1}
    del master, records
    gc.collect()  # a master and its subjobs refer to each other
    assert counted.check() == 0 and not counted._masters  # a master gone is forgotten


def test_writers_in_other_threads_while_the_master_is_counted_leave_the_counts_exact() -> None:
    counted = SubjobStatuses()
    master = FakeJob()
    master.subjobs = Subjobs(FakeJob(master, "submitted") for _ in range(100))
    start = threading.Barrier(5)
    writing = [4]
    done = threading.Event()
    lock = threading.Lock()

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        for _ in range(300):
            rng.choice(master.subjobs).set_status(counted, rng.choice(STATES))
        with lock:
            writing[0] -= 1
            if not writing[0]:
                done.set()

    def reader() -> None:
        start.wait()
        while not done.is_set():  # every read scans again, racing the writers up to their last write
            counted.forget(master)
            counted.statuses(master)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    threads.append(threading.Thread(target=reader))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counted.statuses(master) == stock_statuses(master)
    counts = counted._records.get(master)
    assert counts is not None
    expected: dict[str, int] = {}
    for subjob in master.subjobs:
        expected[subjob.status] = expected.get(subjob.status, 0) + 1
    assert {status: n for status, n in counts.counts.items() if n} == expected


@pytest.mark.ganga
def test_the_patch_is_undone_at_stop(gangadir: str) -> None:
    from GangaCore.GPIDev.Lib.Job.Job import Job

    from GangaMonitoring import patches

    with ganga_running(gangadir):
        assert getattr(vars(Job)["getSubJobStatuses"], "__gm_wrapped__", False)
        assert patches.SUBJOB_STATUSES.changed in patches.status_watch._any_status_listeners
    assert not getattr(vars(Job)["getSubJobStatuses"], "__gm_wrapped__", False)
    assert patches.SUBJOB_STATUSES.changed not in patches.status_watch._any_status_listeners
    assert len(patches.SUBJOB_STATUSES) == 0


@pytest.mark.ganga
@pytest.mark.parametrize("ganga_session", [[("Monitoring", "rollup_check_interval", 0.2)]], indirect=True)
def test_the_session_runs_the_check_and_repairs_a_lost_count(ganga_session: Any) -> None:
    """The component schedules the check every [Monitoring]rollup_check_interval: a change whose listener never
    ran (written past Ganga's setter) is counted right after two checks."""
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    from GangaMonitoring.patches.shared import SUBJOB_STATUSES

    from . import plugins
    from .conftest import wait_for

    gpi = ganga_session
    master = gpi.Job(backend=plugins.RecordingSubmitter(time=600), splitter=gpi.ArgSplitter(args=[["1"], ["2"]]))
    master.submit()
    raw = stripProxy(master)
    assert SUBJOB_STATUSES.statuses(raw) == {"submitted"}
    repairs = SUBJOB_STATUSES.repairs
    sub = raw.subjobs[0]
    with sub.const_lock:
        sub._data["status"] = "running"  # past the setter: no listener hears it
    assert wait_for(lambda: SUBJOB_STATUSES.statuses(raw) == {"submitted", "running"}, timeout=30)
    assert SUBJOB_STATUSES.repairs == repairs + 1


@pytest.mark.ganga
def test_a_first_count_never_loads_subjobs_under_the_master_s_lock(gangadir: str) -> None:
    """Ganga's loader of a subjob holds its list's load lock, then takes the master's lock; a first count
    (a scan) while another thread loads the same list must not hold the master's lock while it waits for the
    load lock.  Forced: a thread holds the load lock until this thread waits in the loader, then takes the
    master's lock as Ganga's loader would (before the fix it could not: a deadlock)."""
    import sys

    from GangaCore.GPIDev.Base.Proxy import stripProxy

    from GangaMonitoring import patches

    with ganga_running(gangadir, KEEP) as gpi:
        job = gpi.Job(splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(5)]))
        job.submit()
        job_id = job.id
    with ganga_running(gangadir, KEEP) as gpi:
        raw = stripProxy(gpi.jobs(job_id))  # its subjobs on disk, none loaded
        subjobs = raw.subjobs
        assert hasattr(subjobs, "_load_lock"), _on_disk(gangadir, subjobs)  # a CI run once found a GangaList
        main = threading.get_ident()
        took_master_lock: list[bool] = []

        def loader_in_another_thread() -> None:
            with subjobs._load_lock:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:  # until the main thread waits in Ganga's loader
                    frame = sys._current_frames().get(main)
                    if frame is not None and frame.f_code.co_name == "_getItem":
                        break
                    time.sleep(0.01)
                acquired = raw._lock.acquire(timeout=5)
                took_master_lock.append(acquired)
                if acquired:
                    raw._lock.release()

        other = threading.Thread(target=loader_in_another_thread)
        other.start()
        while not subjobs._load_lock.locked():
            time.sleep(0.01)
        counted = patches.SUBJOB_STATUSES.statuses(raw)
        other.join(60)
        assert took_master_lock == [True]
        assert counted == stock_statuses(raw)


def _on_disk(gangadir: str, subjobs: Any) -> str:
    """What the repository holds (every file, its size), for a master whose subjobs loaded as a plain list."""
    found = [f"subjobs loaded as {type(subjobs).__name__} of {len(subjobs)}; the gangadir holds:"]
    for root, _dirs, files in sorted(os.walk(gangadir)):
        found += [f"  {os.path.join(root, name)} {os.path.getsize(os.path.join(root, name))}" for name in sorted(files)
                  if "jobs" in root]
    return "\n".join(found[:200])
