"""Reads of loaded values never wait for the lock Ganga's flusher holds (patches item 8)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

pytestmark = pytest.mark.ganga

WAIT = 30.0


def holding_the_lock_of(job: Any) -> tuple[threading.Event, threading.Event, threading.Thread]:
    """A thread that holds the root lock of ``job`` (as the flusher does for a whole master) until released."""
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with stripProxy(job)._getRoot()._lock:
            held.set()
            release.wait(4 * WAIT)  # longer than a reader is waited for: a blocked reader fails the test

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert held.wait(WAIT)
    return held, release, thread


def read_in_thread(read: Any) -> tuple[threading.Event, dict[str, Any]]:
    done, result = threading.Event(), {}

    def run() -> None:
        result["value"] = read()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done, result


def test_reads_of_a_split_job_do_not_wait_for_its_lock(ganga_session: Any) -> None:
    gpi = ganga_session
    job = gpi.Job(backend=gpi.TestSubmitter(time=100), splitter=gpi.ArgSplitter(args=[["a"], ["b"]]))
    job.submit()
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    raw = stripProxy(job)
    sub = raw.subjobs[1]
    _, release, holder = holding_the_lock_of(job)
    try:
        done, result = read_in_thread(lambda: (raw.status, sub.status, raw.name, sub.backend.time))
        assert done.wait(WAIT), "a read waited for the lock a flush holds"
        assert result["value"] == ("submitted", "submitted", "", 100)
    finally:
        release.set()
        holder.join(WAIT)


def test_getters_do_not_wait_for_the_lock(ganga_session: Any) -> None:
    gpi = ganga_session
    job = gpi.Job(backend=gpi.TestSubmitter(time=100), splitter=gpi.ArgSplitter(args=[["a"], ["b"]]))
    job.submit()
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    raw = stripProxy(job)
    sub = raw.subjobs[1]
    expected = (sub.fqid, sub.master, sub.outputdir, raw.inputdir)
    _, release, holder = holding_the_lock_of(job)
    try:
        done, result = read_in_thread(lambda: (sub.fqid, sub.master, sub.outputdir, raw.inputdir))
        assert done.wait(WAIT), "a getter waited for the lock a flush holds"
        assert result["value"] == expected and expected[:2] == (f"{job.id}.1", raw)
    finally:
        release.set()
        holder.join(WAIT)


def test_writes_still_wait_for_the_lock(ganga_session: Any) -> None:
    gpi = ganga_session
    job = gpi.Job(backend=gpi.TestSubmitter(time=100))
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    raw = stripProxy(job)
    _, release, holder = holding_the_lock_of(job)
    done, _ = read_in_thread(lambda: setattr(raw, "comment", "mine"))
    assert not done.wait(0.5)  # a bounded look: the write is blocked while the lock is held
    release.set()
    holder.join(WAIT)
    assert done.wait(WAIT) and job.comment == "mine"


def test_the_patch_is_undone_at_stop(gangadir: str) -> None:
    from GangaCore.GPIDev.Base.Objects import Descriptor
    from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga

    from .conftest import ganga_options

    start_ganga(gangadir, extra_opts=ganga_options())
    assert getattr(Descriptor.__dict__["__get__"], "__gm_wrapped__", False)
    stop_ganga()
    assert not getattr(Descriptor.__dict__["__get__"], "__gm_wrapped__", False)


def test_a_component_not_yet_attached_is_read_under_the_lock(ganga_session: Any) -> None:
    """A writer stores a component, then sets its parent: in between, a read must wait for the writer's lock."""
    gpi = ganga_session
    job = gpi.Job(backend=gpi.TestSubmitter(time=100))
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    raw = stripProxy(job)
    assert raw.backend.time == 100  # the type of a backend has been read lock-free once: its answer is kept
    half_attached = stripProxy(gpi.TestSubmitter(time=7))
    assert half_attached._getParent() is not raw
    _, release, holder = holding_the_lock_of(job)
    try:
        raw._data_dict["backend"] = half_attached  # stored, its parent not set yet: as a writer holding the lock
        done, result = read_in_thread(lambda: raw.backend)
        assert not done.wait(0.5)  # a bounded look: the read is blocked while the lock is held
        half_attached._setParent(raw)
    finally:
        release.set()
        holder.join(WAIT)
    assert done.wait(WAIT) and result["value"] is half_attached
