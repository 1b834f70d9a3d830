"""The registry flusher lets a master's lock go between subjob saves, and loses no change (patches item 13).

A writer of a subjob (a monitoring worker's ``updateStatus``, the user's ``comment=``) takes its
master's lock, which stock Ganga's flusher held for the whole flush of the master.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import ganga_running
from .test_flush_cost import KEEP, counting_saves, subjob_files

pytestmark = pytest.mark.ganga
SUBJOBS = 30
WRITE_AT = 3
"""The writer starts while the flusher saves this subjob (under the master's lock)."""


def still_split_job(gpi: Any) -> Any:
    job = gpi.Job(splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(SUBJOBS)]))
    job.submit()  # Local: force its subjobs to a state monitoring leaves alone
    job.force_status("failed", force=True)
    return job


@pytest.fixture
def budget_zero() -> Iterator[Any]:
    """The flusher lets the lock go before every subjob save (the budget is 5 ms), for 20 ms (0.2 ms: a writer
    woken on a loaded machine may get no core that soon, and the test would count its misses, not the yields)."""
    from GangaMonitoring import patches

    held = patches.HELD_LOCK
    before = held.budget, held.window
    held.budget, held.window = 0.0, 0.02
    try:
        yield held
    finally:
        held.budget, held.window = before


def flush_with_a_writer(job: Any, patching: pytest.MonkeyPatch, hold_outside: bool = False) -> dict[str, Any]:
    """Flush every job; when subjob WRITE_AT is being saved, a thread sets subjob 0's comment.

    Returns how many subjob saves had begun when the writer was done (None: not during the
    flush) and the subjob files saved.
    """
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    raw = stripProxy(job)
    saved = counting_saves(patching)
    found: dict[str, Any] = {"done_after": None, "saved": saved}
    writer_done = threading.Event()

    def write() -> None:
        stripProxy(raw.subjobs[0]).comment = "written during the flush"
        found["done_after"] = len(subjob_files(saved, job.id))
        writer_done.set()

    current = __import__("GangaCore.Core.GangaRepository.GangaRepositoryXML", fromlist=["x"]).safe_save

    def save(fn: str, obj: Any, *args: Any, **kwargs: Any) -> Any:
        if subjob_files([fn], job.id) == [str(WRITE_AT)] and not found.get("writer"):
            found["writer"] = threading.Thread(target=write)
            found["writer"].start()  # it waits for the master's lock, which this thread holds
        return current(fn, obj, *args, **kwargs)

    save.lock = current.lock  # type: ignore[attr-defined]
    patching.setattr(__import__("GangaCore.Core.GangaRepository.GangaRepositoryXML", fromlist=["x"]),
                     "safe_save", save)
    for subjob in raw.subjobs:
        stripProxy(subjob).comment = "changed"
    registry = raw._getRegistry()
    if hold_outside:
        with raw.const_lock:  # a caller that holds the lock itself (as a submit does): it is not let go
            registry.flush_all()
            found["done_at_flush_end"] = writer_done.is_set()
    else:
        registry.flush_all()
        found["done_at_flush_end"] = writer_done.is_set()
    found["writer"].join(30)
    assert writer_done.is_set()
    return found


def data_file(job: Any, number: int) -> str:
    import os

    from GangaCore.GPIDev.Base.Proxy import stripProxy

    raw = stripProxy(job)
    with open(os.path.join(os.path.dirname(raw._getRegistry().repository.get_fn(raw.id)), str(number), "data")) as f:
        return f.read()


def check_writer_got_in_and_nothing_lost(job: Any, found: dict[str, Any]) -> None:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    assert found["done_at_flush_end"], "the writer waited for the whole flush"
    assert found["done_after"] is not None and found["done_after"] <= WRITE_AT + 2, found["done_after"]
    # subjob 0 was saved before the writer changed it: saved again before the flush ended
    assert subjob_files(found["saved"], job.id).count("0") == 2
    assert "written during the flush" in data_file(job, 0)
    assert not stripProxy(job.subjobs(0))._dirty


def test_a_writer_gets_the_lock_between_subjob_saves_of_a_new_master(ganga_session: Any, budget_zero: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    job = still_split_job(ganga_session)
    yields = budget_zero.yields
    with monkeypatch.context() as patching:
        found = flush_with_a_writer(job, patching)
    check_writer_got_in_and_nothing_lost(job, found)
    assert budget_zero.yields - yields >= SUBJOBS - 1


def test_a_writer_gets_the_lock_between_subjob_saves_of_a_master_loaded_from_disk(
        gangadir: str, budget_zero: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with ganga_running(gangadir, KEEP) as gpi:
        job_id = still_split_job(gpi).id
    with ganga_running(gangadir, KEEP) as gpi, monkeypatch.context() as patching:
        job = gpi.jobs(job_id)  # its subjobs now in Ganga's SubJobXMLList
        found = flush_with_a_writer(job, patching)
        check_writer_got_in_and_nothing_lost(job, found)
    with ganga_running(gangadir) as gpi:  # what was written loads
        assert gpi.jobs(job_id).subjobs(0).comment == "written during the flush"
        assert gpi.jobs(job_id).subjobs(SUBJOBS - 1).comment == "changed"


def test_a_lock_its_caller_holds_is_not_let_go(ganga_session: Any, budget_zero: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    job = still_split_job(ganga_session)
    with monkeypatch.context() as patching:
        found = flush_with_a_writer(job, patching, hold_outside=True)
    assert not found["done_at_flush_end"]
    assert "written during the flush" not in data_file(job, 0)


@pytest.fixture
def no_budget_no_window() -> Iterator[Any]:
    """The flusher never lets the lock go by its budget, and a bare let-go lasts no time (a loaded machine:
    a waiting thread gets no core in it): only a handoff lets a writer in (item 22)."""
    from GangaMonitoring import patches

    held = patches.HELD_LOCK
    before = held.budget, held.window, held.handoff
    held.budget, held.window, held.handoff = 3600.0, 0.0, 60.0
    try:
        yield held
    finally:
        held.budget, held.window, held.handoff = before


def test_a_write_typed_at_the_prompt_is_handed_the_master_s_lock_at_the_next_subjob_save(
        ganga_session: Any, no_budget_no_window: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    job = still_split_job(ganga_session)
    raw = stripProxy(job)
    for subjob in raw.subjobs:
        stripProxy(subjob).comment = "changed"
    saved = counting_saves(monkeypatch)
    repository_xml = __import__("GangaCore.Core.GangaRepository.GangaRepositoryXML", fromlist=["x"])
    current, flushing, handoffs = repository_xml.safe_save, threading.Event(), no_budget_no_window.handoffs

    def save(fn: str, obj: Any, *args: Any, **kwargs: Any) -> Any:
        if subjob_files([fn], job.id) == [str(WRITE_AT)]:
            flushing.set()  # the flusher holds the master's lock: the prompt's write now waits for it
            asked = time.monotonic() + 10  # (without item 22 the write never asks: go on after a while)
            while not no_budget_no_window.prompt_waiting(raw) and time.monotonic() < asked:
                threading.Event().wait(0.001)
        return current(fn, obj, *args, **kwargs)

    save.lock = current.lock  # type: ignore[attr-defined]
    monkeypatch.setattr(repository_xml, "safe_save", save)
    flusher = threading.Thread(target=raw._getRegistry().flush_all, name="flusher")
    flusher.start()
    assert flushing.wait(30)
    job.comment = "typed at the prompt"  # through the GPI, in the main thread, as at the prompt
    done_after = len(subjob_files(saved, job.id))
    flusher.join(60)
    assert done_after <= WRITE_AT + 2, f"the write waited for {done_after} of {SUBJOBS} subjob saves"
    assert no_budget_no_window.handoffs == handoffs + 1
    assert len(subjob_files(saved, job.id)) >= SUBJOBS and raw.comment == "typed at the prompt"
