"""Patches item 20: job tables are Ganga's text, read once per row, and never wait for a job's lock."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from .conftest import ganga_running
from .test_flush_cost import KEEP

pytestmark = pytest.mark.ganga

WAIT = 30.0
SUBJOBS = 5


def quiet_split_job(gpi: Any) -> Any:
    """A split job monitoring leaves alone: its subjobs forced failed, two of them completed, one killed."""
    job = gpi.Job(name="split", comment="a comment", splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(SUBJOBS)]))
    job.submit()
    job.force_status("failed", force=True)
    job.subjobs(0).force_status("completed", force=True)
    job.subjobs(1).force_status("completed", force=True)
    return job


def texts(gpi: Any, job: Any) -> dict[str, str]:
    return {"jobs": gpi.jobs._display(True), "jobs plain": str(gpi.jobs), "subjobs": job.subjobs._display(True),
            "slice": gpi.jobs.select(name="split")._display(False), "print(j)": str(job)}


def gangas_texts(gpi: Any, job: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice
    from GangaCore.GPIDev.Lib.Registry.RegistrySlice import RegistrySlice

    with monkeypatch.context() as patching:
        patching.setattr(JobRegistrySlice, "_display", RegistrySlice._display)
        patching.setattr(JobRegistrySlice, "__str__", RegistrySlice.__str__)
        return texts(gpi, job)


def test_the_tables_are_gangas_text(ganga_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    gpi = ganga_session
    job = quiet_split_job(gpi)
    gpi.Job(name="plain", comment="plain comment")
    ours = texts(gpi, job)
    assert ours == gangas_texts(gpi, job, monkeypatch)
    assert "0/3/0/2" in ours["jobs"]  # running/failed/completing/completed
    assert f"Registry Slice: jobs({job.id}).subjobs ({SUBJOBS} objects)" in ours["subjobs"]


def test_the_tables_of_jobs_loaded_from_disk_are_gangas_text(gangadir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with ganga_running(gangadir, KEEP) as gpi:
        job_id = quiet_split_job(gpi).id
        gpi.Job(name="plain")
    with ganga_running(gangadir, KEEP) as gpi:
        from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList
        from GangaCore.GPIDev.Base.Proxy import stripProxy
        from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice
        from GangaCore.GPIDev.Lib.Registry.RegistrySlice import RegistrySlice

        before_loading = gpi.jobs._display(True)  # jobs not loaded: their index entries
        with monkeypatch.context() as patching:
            patching.setattr(JobRegistrySlice, "_display", RegistrySlice._display)
            assert before_loading == gpi.jobs._display(True)
        job = gpi.jobs(job_id)
        assert isinstance(stripProxy(job).subjobs, SubJobXMLList)  # loads the master, not its subjobs
        job.subjobs(2).comment = "loaded"  # one subjob in memory, the others read from subjobs.idx
        ours = texts(gpi, job)
        assert ours == gangas_texts(gpi, job, monkeypatch)
        assert "loaded" in ours["subjobs"]


def shown_while_the_master_is_locked(job: Any, show: dict[str, Any]) -> tuple[bool, dict[str, str]]:
    """Each of ``show`` (name -> what to show) run while another thread holds ``job``'s master's lock, as
    Ganga's flusher does while it saves the master's subjobs; (all were shown before the lock was let go,
    what they showed)."""
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    held, release = threading.Event(), threading.Event()

    def flush_holding_the_master() -> None:
        with stripProxy(job)._getRoot()._lock:
            held.set()
            release.wait(4 * WAIT)  # longer than a reader is waited for: a blocked reader fails the test

    holder = threading.Thread(target=flush_holding_the_master, daemon=True)
    holder.start()
    assert held.wait(WAIT)
    done, shown = threading.Event(), {}

    def show_all() -> None:
        for name, make in show.items():
            shown[name] = make()
        done.set()

    threading.Thread(target=show_all, daemon=True).start()
    try:
        return done.wait(WAIT), shown
    finally:
        release.set()
        holder.join(WAIT)


def test_a_table_does_not_wait_for_the_lock_a_flush_holds(ganga_session: Any) -> None:
    gpi = ganga_session
    job = quiet_split_job(gpi)
    show = {"jobs": lambda: gpi.jobs._display(True), "subjobs": lambda: job.subjobs._display(True)}
    expected = {name: make() for name, make in show.items()}
    done, shown = shown_while_the_master_is_locked(job, show)
    assert done, "a table waited for the master's lock"
    assert shown == expected


def test_printing_a_job_does_not_wait_for_the_lock_a_flush_holds(ganga_session: Any) -> None:
    gpi = ganga_session
    job = quiet_split_job(gpi)
    show = {"print(j)": lambda: str(job), "print(subjob)": lambda: str(job.subjobs(1))}
    expected = {name: make() for name, make in show.items()}
    done, shown = shown_while_the_master_is_locked(job, show)
    assert done, "a print waited for the master's lock"
    assert shown == expected and "subjobs" in shown["print(j)"]


def test_monitoring_starts_nothing_new_while_a_table_or_a_print_computes(ganga_session: Any,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Forced: a subjob table holds, in its render, until monitoring's dispatcher (back from its sleep
    within a second) waits for the prompt's turn; the turn's bound raised so that it waits for the table."""
    from GangaMonitoring import patches
    from GangaMonitoring.views import job_tables

    gpi = ganga_session
    job = quiet_split_job(gpi)
    turn = patches.PROMPT_TURN
    monkeypatch.setattr(turn, "longest", WAIT)
    render = job_tables.render
    waited: list[bool] = []

    def held_render(*args: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + WAIT
        while turn.waiting == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        waited.append(turn.waiting > 0)
        return render(*args, **kwargs)

    before = (turn.turns, turn.held)
    job_tables.render = held_render
    try:
        job.subjobs._display(True)
    finally:
        job_tables.render = render
    deadline = time.monotonic() + WAIT
    while turn.waiting and time.monotonic() < deadline:  # the dispatcher, woken by the turn's end
        time.sleep(0.005)
    assert waited == [True] and turn.turns == before[0] + 1 and turn.held > before[1]
    str(job)
    assert turn.turns == before[0] + 2 and not turn.on


def test_a_masters_subjob_status_comes_from_the_counts_and_is_fresh(ganga_session: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from GangaCore.GPIDev.Lib.Job.Job import Job

    gpi = ganga_session
    job = quiet_split_job(gpi)

    def walk_of_the_subjobs(self: Any) -> str:
        raise AssertionError("the table read every subjob's status")

    monkeypatch.setattr(Job, "returnSubjobStatuses", walk_of_the_subjobs)
    assert "0/3/0/2" in gpi.jobs._display(False)
    job.subjobs(2).force_status("completed", force=True)
    assert "0/2/0/3" in gpi.jobs._display(False)


def test_a_table_of_plain_jobs_walks_no_registry(ganga_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from GangaCore.Core.GangaRepository.Registry import Registry

    gpi = ganga_session
    for n in range(3):
        gpi.Job(name=f"plain{n}")
    expected = gpi.jobs._display(True)

    def walk(self: Any, obj: Any) -> Any:
        raise AssertionError("the table walked the registry")

    monkeypatch.setattr(Registry, "find", walk)
    assert gpi.jobs._display(True) == expected


def test_the_patch_is_undone_at_stop(gangadir: str) -> None:
    from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice

    with ganga_running(gangadir):
        assert getattr(vars(JobRegistrySlice).get("_display"), "__gm_wrapped__", False)
        assert getattr(vars(JobRegistrySlice).get("__str__"), "__gm_wrapped__", False)
    assert "_display" not in vars(JobRegistrySlice) and "__str__" not in vars(JobRegistrySlice)


def test_printing_keeps_the_lock_for_other_visitors_and_is_undone_at_stop(gangadir: str) -> None:
    from GangaCore.GPIDev.Base.Objects import GangaObject

    gangas = vars(GangaObject)["accept"]
    with ganga_running(gangadir):
        ours = vars(GangaObject)["accept"]
        assert ours is not gangas and ours.__wrapped__ is gangas  # a streamer (a save) goes through Ganga's
    assert vars(GangaObject)["accept"] is gangas


def test_survivors_of_full_collections_are_frozen_while_monitoring_runs(gangadir: str) -> None:
    """Full collections walk only what is new while the component runs; everything goes back at its stop."""
    import gc

    assert gc.get_freeze_count() == 0
    with ganga_running(gangadir):
        gc.collect()
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
