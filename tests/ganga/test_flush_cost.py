"""A flush of a split job costs what changed (patches item 11), and writes what stock writes."""

from __future__ import annotations

import os
import pickle
import re
import sys
from typing import Any

import pytest

from .conftest import ganga_running

pytestmark = pytest.mark.ganga
KEEP = [("TestingFramework", "AutoCleanup", False)]
"""Ganga's test helpers empty the repository at stop unless told not to."""


def counting_index_computations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The subjobs whose index entry Ganga computes: it asks a registry slice for each display column."""
    job_registry = sys.modules["GangaCore.GPIDev.Lib.Registry.JobRegistry"]  # the package hides it by a class
    computed: list[str] = []
    slice_class = job_registry.JobRegistrySlice
    get_value = slice_class._get_display_value

    def counting(self: Any, obj: Any, column: Any) -> Any:
        if obj.master is not None and column == "status":
            computed.append(obj.getFQID("."))
        return get_value(self, obj, column)

    monkeypatch.setattr(slice_class, "_get_display_value", counting)
    return computed


def counting_subjob_stats(monkeypatch: pytest.MonkeyPatch, job_id: int) -> list[str]:
    """The subjobs whose data file is stat'ed (``.../<job id>/<subjob>/data``)."""
    stated: list[str] = []
    os_stat = os.stat

    def counting(path: Any, *args: Any, **kwargs: Any) -> Any:
        stated.extend(subjob_files([str(path)], job_id))
        return os_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", counting)
    subjob_list = sys.modules["GangaCore.Core.GangaRepository.SubJobXMLList"]
    if subjob_list.stat is os_stat:  # unpatched: Ganga bound os.stat there at import
        monkeypatch.setattr(subjob_list, "stat", counting)
    return stated


def counting_saves(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml

    saved: list[str] = []
    current = repository_xml.safe_save

    def save(fn: str, obj: Any, *args: Any, **kwargs: Any) -> Any:
        saved.append(fn)
        return current(fn, obj, *args, **kwargs)

    save.lock = current.lock  # type: ignore[attr-defined]
    monkeypatch.setattr(repository_xml, "safe_save", save)
    return saved


def subjob_files(saved: list[str], job_id: int) -> list[str]:
    """The subjob numbers among saved files (``.../<job id>/<subjob>/data``)."""
    found = (re.search(rf"{os.sep}{job_id}{os.sep}(\d+){os.sep}data$", path) for path in saved)
    return sorted(match.group(1) for match in found if match)


def flush(job: Any) -> None:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    raw = stripProxy(job)
    raw._getRegistry()._flush([raw])


def still_split_job(gpi: Any, subjobs: int) -> Any:
    """A submitted split job of ``subjobs``, forced to a still state (Local: its subjobs start and end) and flushed."""
    job = gpi.Job(splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(subjobs)]))
    job.submit()
    job.force_status("failed", force=True)
    flush(job)
    return job


def subjobs_index(job: Any) -> dict[int, dict[str, Any]]:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    raw = stripProxy(job)
    path = os.path.join(os.path.dirname(raw._getRegistry().repository.get_fn(raw.id)), "subjobs.idx")
    with open(path, "rb") as handle:
        return pickle.load(handle)


def test_a_flush_computes_the_index_entries_of_the_subjobs_that_changed_only(
        ganga_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    gpi = ganga_session
    job = gpi.Job(splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(40)]))
    job.submit()  # Local: subjobs start and end; force them to a known, still state
    job.force_status("failed", force=True)
    flush(job)
    computed = counting_index_computations(monkeypatch)
    stated = counting_subjob_stats(monkeypatch, job.id)
    job.comment = "the master alone"
    flush(job)
    assert computed == [] and stated == []  # stock: all 40 subjobs, at every flush of the master
    job.subjobs(3).comment = "changed"
    job.subjobs(7).comment = "changed too"
    flush(job)
    assert sorted(computed) == [f"{job.id}.3", f"{job.id}.7"]
    # the ctime stamped on their entries, their files being rewritten (safe_save's exists() stats them too)
    assert sorted(set(stated)) == ["3", "7"]
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    registry = stripProxy(job)._getRegistry()
    written = subjobs_index(job)
    assert sorted(written) == list(range(40))
    for number in range(40):  # what stock would have written, entry for entry
        expected = registry.__class__.getIndexCache.__wrapped__(registry, stripProxy(job.subjobs(number)))
        assert {k: v for k, v in written[number].items() if k != "modified"} == expected
    assert written[3]["comment"] == "changed" and written[7]["comment"] == "changed too"


def saved_split_job(gangadir: str, subjobs: int) -> int:
    """In a session of its own, kept at stop: a submitted split job of ``subjobs``, forced still; its id."""
    with ganga_running(gangadir, KEEP) as gpi:
        job = gpi.Job(splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(subjobs)]))
        job.submit()  # Local: subjobs start and end; force them to a known, still state
        job.force_status("failed", force=True)
        return int(job.id)


def test_a_master_loaded_from_disk_rewrites_only_the_subjobs_changed_since_its_last_flush(
        gangadir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = saved_split_job(gangadir, 20)
    with ganga_running(gangadir, KEEP) as gpi, monkeypatch.context() as patching:
        # the master is now read from disk (Ganga's SubJobXMLList); the count is undone before Ganga stops
        job = gpi.jobs(job_id)
        saved = counting_saves(patching)
        job.subjobs(3).comment = "first"
        flush(job)
        assert subjob_files(saved, job_id) == ["3"], saved
        saved.clear()
        job.subjobs(5).comment = "second"
        flush(job)
        assert subjob_files(saved, job_id) == ["5"], saved  # stock: ["3", "5"], and every earlier one for ever
        assert subjobs_index(job)[5]["comment"] == "second" and subjobs_index(job)[3]["comment"] == "first"
    with ganga_running(gangadir) as gpi:  # what was written loads
        job = gpi.jobs(job_id)
        assert (job.subjobs(3).comment, job.subjobs(5).comment) == ("first", "second")


def test_the_patches_are_undone_at_stop(gangadir: str) -> None:
    import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml
    from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList
    from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistry

    def patched() -> list[Any]:
        return [vars(JobRegistry)["getIndexCache"], vars(SubJobXMLList)["flush"],
                vars(SubJobXMLList)["write_subJobIndex"], vars(repository_xml)["safe_save"]]

    subjob_list_module = sys.modules[SubJobXMLList.__module__]
    with ganga_running(gangadir):
        assert all(getattr(f, "__gm_wrapped__", False) for f in patched())
        assert repository_xml.safe_save.lock is vars(repository_xml)["safe_save"].__wrapped__.lock
        assert getattr(vars(subjob_list_module)["open"], "__gm_wrapped__", False)
    assert [getattr(f, "__gm_wrapped__", False) for f in patched()] == [False] * 4
    assert "open" not in vars(subjob_list_module)  # the builtin again


def index_path(job: Any) -> str:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    raw = stripProxy(job)
    return os.path.join(os.path.dirname(raw._getRegistry().repository.get_fn(raw.id)), "subjobs.idx")


def test_the_subjob_index_is_replaced_whole_and_a_failed_write_leaves_the_last_one(
        ganga_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17, item 2: Ganga rewrote ``subjobs.idx`` in place, so a flush that failed (or was killed)
    while writing it left a truncated index."""
    gpi = ganga_session
    job = still_split_job(gpi, 10)
    path = index_path(job)
    before = os.stat(path).st_ino
    job.subjobs(2).comment = "whole"
    flush(job)
    assert os.stat(path).st_ino != before  # a new file renamed over the old, not the old one truncated
    assert subjobs_index(job)[2]["comment"] == "whole"
    import GangaCore.Core.GangaRepository.PickleStreamer as streamer

    def failing(obj: Any, handle: Any, *args: Any) -> None:
        handle.write(b"half an ind")
        raise OSError(28, "No space left on device")  # Ganga logs it at debug level and goes on

    monkeypatch.setattr(streamer, "to_file", failing)
    job.subjobs(2).comment = "lost with the write"
    flush(job)
    monkeypatch.undo()
    assert subjobs_index(job)[2]["comment"] == "whole"  # stock: b"half an ind", which no pickle loads
    assert [name for name in os.listdir(os.path.dirname(path)) if name.endswith(".tmp")] == []
    job.subjobs(2).comment = "written again"
    flush(job)
    assert subjobs_index(job)[2]["comment"] == "written again"


def index_file(job: Any) -> tuple[int, int, bytes]:
    """The job's ``subjobs.idx`` as found on disk: inode, mtime in ns, bytes."""
    path = index_path(job)
    found = os.stat(path)
    with open(path, "rb") as handle:
        return found.st_ino, found.st_mtime_ns, handle.read()


def master_entry(job: Any) -> dict[str, Any]:
    """The master's index entry the repository keeps after a flush (``_cached_obj``)."""
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    raw = stripProxy(job)
    return dict(raw._getRegistry().repository._cached_obj[raw.id])


def test_a_flush_of_the_master_alone_leaves_its_subjob_index_as_it_is(ganga_session: Any) -> None:
    """Ganga rewrote a master's whole ``subjobs.idx`` at every flush of the master, though the index can
    change only when a subjob is saved (1,000 subjobs: 15 of the flush's 21 ms, under the master's lock)."""
    gpi = ganga_session
    job = still_split_job(gpi, 12)
    written = index_file(job)
    job.comment = "the master alone"
    flush(job)
    assert index_file(job) == written  # the same file, not rewritten (stock: a new one, the same bytes)
    job.subjobs(4).comment = "a subjob"
    flush(job)
    assert index_file(job)[0] != written[0] and subjobs_index(job)[4]["comment"] == "a subjob"
    rewritten = index_file(job)
    foreign = index_path(job) + ".foreign"  # another writer's file in its place: written again
    with open(foreign, "wb") as handle:
        handle.write(rewritten[2])
    os.replace(foreign, index_path(job))
    job.comment = "after another writer"
    foreign_inode = os.stat(index_path(job)).st_ino
    flush(job)
    assert index_file(job)[0] != foreign_inode
    assert subjobs_index(job)[4]["comment"] == "a subjob"
    os.remove(index_path(job))  # none on disk: written again
    job.comment = "after its index was removed"
    flush(job)
    assert subjobs_index(job)[4]["comment"] == "a subjob"


def test_a_master_loaded_from_disk_reads_its_saved_subjobs_entries_once(
        gangadir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The master's own entry reads every loaded subjob's whole entry (``getAllCachedData``), at each flush."""
    job_id = saved_split_job(gangadir, 15)
    with ganga_running(gangadir, KEEP) as gpi, monkeypatch.context() as patching:
        job = gpi.jobs(job_id)
        assert all(subjob.status for subjob in job.subjobs)  # every subjob in memory
        job.comment = "first flush"
        flush(job)
        written = index_file(job)
        computed = counting_index_computations(patching)
        job.comment = "the master alone"
        flush(job)
        assert computed == []  # stock: all 15, for the master's entry (and again for the index)
        assert index_file(job) == written
        job.subjobs(6).force_status("completed", force=True)
        flush(job)
        assert computed == [f"{job_id}.6"]
        assert master_entry(job)["subjobs:status"][6] == "completed"
        assert subjobs_index(job)[6]["status"] == "completed"
