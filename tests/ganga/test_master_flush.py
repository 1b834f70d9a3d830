"""Patches item 16: a flush of a split master does its own O(N) work once, or not at all, and writes stock's files."""

from __future__ import annotations

import os
import pickle
import sys
from typing import Any

import pytest

from .conftest import ganga_running
from .test_flush_cost import KEEP, flush, index_path, saved_split_job, still_split_job, subjobs_index
from .test_xml_writer import stock_xml

pytestmark = pytest.mark.ganga


def counting_master_entries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The top-level jobs whose index entry Ganga computes: it asks a registry slice for each display column."""
    slice_class = sys.modules["GangaCore.GPIDev.Lib.Registry.JobRegistry"].JobRegistrySlice
    get_value = slice_class._get_display_value
    computed: list[str] = []

    def counting(self: Any, obj: Any, column: Any) -> Any:
        if obj.master is None and column == "status":
            computed.append(obj.getFQID("."))
        return get_value(self, obj, column)

    monkeypatch.setattr(slice_class, "_get_display_value", counting)
    return computed


def counting_index_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ``subjobs.idx`` files Ganga's ``SubJobXMLList`` unpickles."""
    import GangaCore.Core.GangaRepository.PickleStreamer as streamer

    read: list[str] = []
    from_file = streamer.from_file

    def counting(handle: Any, *args: Any, **kwargs: Any) -> Any:
        read.append(getattr(handle, "name", "?"))
        return from_file(handle, *args, **kwargs)

    monkeypatch.setattr(streamer, "from_file", counting)
    return read


def master_xml(job: Any) -> str:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    raw = stripProxy(job)
    with open(raw._getRegistry().repository.get_fn(raw.id), encoding="utf-8") as handle:
        return handle.read()


def stock_master_xml(raw: Any) -> str:
    """What Ganga writes for a top-level job: without its subjobs if it has any (they have files of their own)."""
    return stock_xml(raw, "subjobs" if len(raw.subjobs) else "")


def test_a_flush_computes_the_master_s_entry_once_and_reads_no_index_it_does_not_use(
        ganga_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    gpi = ganga_session
    job = still_split_job(gpi, 30)
    computed = counting_master_entries(monkeypatch)
    read = counting_index_reads(monkeypatch)
    job.subjobs(4).comment = "changed"
    flush(job)
    assert computed == [str(job.id)]  # stock: 3 (index_write twice, _index_cache once), each walking 30 subjobs
    assert read == []  # stock: the old subjobs.idx, unpickled by a temporary list that writes every entry anew
    raw = stripProxy(job)
    registry = raw._getRegistry()
    stock_entry = registry.__class__.getIndexCache.__wrapped__(registry, raw)
    assert registry.repository._cached_obj[raw.id] == stock_entry
    written = subjobs_index(job)
    assert sorted(written) == list(range(30)) and written[4]["comment"] == "changed"
    computed.clear()
    job.comment = "the next flush computes it afresh"
    flush(job)
    assert computed == [str(job.id)]
    assert registry.repository._cached_obj[raw.id]["comment"] == "the next flush computes it afresh"


def test_a_bounded_hold_that_let_writers_in_computes_the_master_s_entry_again() -> None:
    from GangaMonitoring.repository.flush import RootEntries

    generation = [0]
    entries = RootEntries(generation=lambda: generation[0])
    root = type("Root", (), {})()
    values = iter([{"status": "running", "subjobs:status": ["running"]},
                   {"status": "completed", "subjobs:status": ["completed"]}])
    compute = lambda _root: next(values)  # noqa: E731
    assert entries.entry(root, compute)["status"] == "running"  # outside a flush: computed, not kept
    with entries.flushing():
        first = entries.entry(root, compute)
        first["subjobs:status"].append("changed by the caller")
        again = entries.entry(root, compute)  # kept, and handed out as a copy
        assert again == {"status": "completed", "subjobs:status": ["completed"]}
        assert (entries.computed, entries.reused) == (1, 1)
        generation[0] += 1  # a yield let a writer in: computed afresh (here: nothing left to compute)
        with pytest.raises(StopIteration):
            entries.entry(root, compute)
    assert not entries.active


def test_the_subjob_count_of_a_master_loaded_from_disk_is_counted_once(
        gangadir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = saved_split_job(gangadir, 25)
    with ganga_running(gangadir, KEEP) as gpi, monkeypatch.context() as patching:
        from GangaCore.GPIDev.Base.Proxy import stripProxy

        job = gpi.jobs(job_id)
        subjobs = stripProxy(job).subjobs
        assert len(subjobs) == 25
        directory = os.path.dirname(index_path(job))
        stated: list[str] = []
        os_stat = os.stat

        def counting(path: Any, *args: Any, **kwargs: Any) -> Any:
            if os.path.dirname(str(path)) == directory and os.path.basename(str(path)).isdigit():
                stated.append(str(path))
            return os_stat(path, *args, **kwargs)

        patching.setattr(os, "stat", counting)
        job.subjobs(2).comment = "changed"
        flush(job)  # every save moves the directory's ctime: stock counted the 25 directories again, per entry
        assert len(subjobs) == 25 and len(job.subjobs) == 25
        assert {os.path.basename(path) for path in stated} <= {"2"}  # the saved subjob's own directory only
        patching.undo()
        new = stripProxy(gpi.Job())
        gpi.jobs(new.id).remove()
        subjobs.appendJobs({25: new}, stripProxy(job))
        assert len(subjobs) == 26  # appendJobs forgets the count
        assert os.path.isfile(os.path.join(directory, "25", "data"))


def test_a_master_s_splitter_is_written_as_stock_writes_it_at_every_save(ganga_session: Any) -> None:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    gpi = ganga_session
    job = gpi.Job(splitter=gpi.ArgSplitter(args=[["a"], ["b"]]))
    raw = stripProxy(job)
    flush(job)
    job.comment = "one"
    flush(job)
    job.comment = "two"
    flush(job)
    assert master_xml(job) == stock_master_xml(raw)
    job.splitter.args.append(["c"])  # through the GPI
    flush(job)
    assert "&apos;c&apos;" in master_xml(job) or "'c'" in master_xml(job)
    assert master_xml(job) == stock_master_xml(raw)
    job.splitter = gpi.ArgSplitter(args=[["d"]])  # a new splitter
    flush(job)
    assert master_xml(job) == stock_master_xml(raw) and "'a'" not in master_xml(job)
    job.submit()
    job.force_status("failed", force=True)
    flush(job)
    job.comment = "submitted"
    flush(job)
    assert master_xml(job) == stock_master_xml(raw)


def test_the_patches_are_undone_at_stop(gangadir: str) -> None:
    from GangaCore.Core.GangaRepository.GangaRepositoryXML import GangaRepositoryLocal
    from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList

    def patched() -> list[Any]:
        return [vars(GangaRepositoryLocal)["flush"], vars(GangaRepositoryLocal)["_safe_flush_xml"],
                vars(SubJobXMLList)["load_subJobIndex"], vars(SubJobXMLList)["__len__"],
                vars(SubJobXMLList)["appendJobs"]]

    with ganga_running(gangadir):
        assert all(getattr(f, "__gm_wrapped__", False) for f in patched())
    assert [getattr(f, "__gm_wrapped__", False) for f in patched()] == [False] * 5


def test_the_index_written_loads_in_stock_ganga(gangadir: str) -> None:
    with ganga_running(gangadir, KEEP) as gpi:
        job = gpi.Job(splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(12)]))
        job.submit()
        job.force_status("failed", force=True)
        job.subjobs(5).comment = "five"
        flush(job)
        job_id = job.id
        with open(index_path(job), "rb") as handle:
            written = pickle.load(handle)
    assert written[5]["comment"] == "five"
    with ganga_running(gangadir, [("Configuration", "RUNTIME_PATH", "GangaTest")]) as gpi:  # stock Ganga alone
        job = gpi.jobs(job_id)
        assert len(job.subjobs) == 12 and job.subjobs(5).comment == "five"
        assert job.splitter.args[11] == ["11"]


@pytest.mark.parametrize("mutation", ["raw-args-append", "raw-inner-list-append", "raw-inner-item-set",
                                      "gpi-args-append", "raw-dataset-files-append"])
def test_a_second_save_after_an_in_place_change_of_a_clean_component_is_stock_s(
        ganga_session: Any, mutation: str) -> None:
    """A clean splitter or dataset changed in place (which may not mark it dirty) is saved as stock saves it."""
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    gpi = ganga_session
    job = gpi.Job(splitter=gpi.ArgSplitter(args=[["a"], ["b"]]),
                  inputdata=gpi.GangaDataset(files=[gpi.LocalFile("x.dat")]))
    raw = stripProxy(job)
    flush(job)
    job.comment = "one"
    flush(job)  # the components are clean: their texts are kept (a first save)
    assert not raw.splitter._dirty and not raw.inputdata._dirty
    if mutation == "raw-args-append":
        raw.splitter.args.append(["c"])
    elif mutation == "raw-inner-list-append":
        raw.splitter.args[0].append("c")
    elif mutation == "raw-inner-item-set":
        raw.splitter.args[1][0] = "c"
    elif mutation == "gpi-args-append":
        job.splitter.args.append(["c"])
    else:
        raw.inputdata.files.append(stripProxy(gpi.LocalFile("y.dat")))
    job.comment = "two"  # the master is saved again
    flush(job)  # the second save
    assert master_xml(job) == stock_master_xml(raw)
    assert "c" in str(raw.splitter.args) or "y.dat" in master_xml(job)


def stock_count(subjobs: Any) -> int:
    """What Ganga's own ``SubJobXMLList.__len__`` answers now (its ctime check aside: a fresh count)."""
    from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList

    if not os.path.isdir(subjobs._jobDirectory):
        return 0
    return SubJobXMLList.countSubJobDirs(subjobs._jobDirectory, subjobs._dataFileName, False)


def test_a_kept_subjob_count_never_goes_stale(gangadir: str) -> None:
    """The kept count of a loaded master equals a fresh count: after appendJobs, in the next session
    (the count a session kept is not carried to a master loaded again, even with subjobs added by the
    session before), and once the job is removed (its directory gone: 0, as stock)."""
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    job_id = saved_split_job(gangadir, 6)
    with ganga_running(gangadir, KEEP) as gpi:
        raw = stripProxy(gpi.jobs(job_id))
        subjobs = raw.subjobs
        assert len(subjobs) == 6 == stock_count(subjobs)
        for number in (6, 7):
            new = stripProxy(gpi.Job())
            gpi.jobs(new.id).remove()
            subjobs.appendJobs({number: new}, raw)
            assert len(subjobs) == number + 1 == stock_count(subjobs)
        raw.subjobs[7].comment = "appended"
        flush(gpi.jobs(job_id))
        assert len(subjobs) == 8 == stock_count(subjobs)
    with ganga_running(gangadir, KEEP) as gpi:  # another session: the master loaded again from disk
        raw = stripProxy(gpi.jobs(job_id))
        subjobs = raw.subjobs
        assert subjobs is not None and len(subjobs) == 8 == stock_count(subjobs)
        assert raw.subjobs[7].comment == "appended"
        gpi.jobs(job_id).remove()
        assert stock_count(subjobs) == 0
        assert len(subjobs) == 0  # the directory is gone: Ganga's count is 0, and so is ours
