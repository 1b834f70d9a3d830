"""SubJobXMLList.flush: a flush costs what changed, and ends with every subjob saved as it is."""

import os

import pytest

import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml
from GangaCore.Core.GangaRepository.PickleStreamer import from_file
from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList


class _Registry:
    """Computes index entries from a subjob's status, and counts them."""

    def __init__(self):
        self.computed = []

    def getIndexCache(self, subjob):
        self.computed.append(subjob.id)
        return {"id": subjob.id, "status": subjob.status}


class _Subjob:
    def __init__(self, master, number):
        self.id = number
        self.status = "new"
        self._dirty = True
        self._master = master

    def _getRoot(self):
        return self._master

    def _setFlushed(self):
        self._dirty = False


@pytest.fixture
def saves(monkeypatch):
    """The subjobs saved, in order; each save writes the status to the subjob's data file."""
    saved = []
    during = {}

    def safe_save(data_file, subjob, to_file, ignore_subs=""):  # a new file renamed over the old, as Ganga's
        with open(data_file + ".new", "w") as f:
            f.write(subjob.status)
        os.replace(data_file + ".new", data_file)
        saved.append(subjob.id)
        if len(saved) in during:
            during.pop(len(saved))()

    monkeypatch.setattr(repository_xml, "safe_save", safe_save)
    return saved, during


def _split_job(root, subjobs):
    for number in range(subjobs):
        os.makedirs(os.path.join(str(root), str(number)))
        with open(os.path.join(str(root), str(number), "data"), "w"):
            pass
    registry = _Registry()
    master = object()
    subjob_list = SubJobXMLList(str(root), registry=registry)
    subjob_list._reset_cachedJobs({number: _Subjob(master, number) for number in range(subjobs)})
    return subjob_list, registry


def _temporary_list(root, registry, cached):
    """The list through which Ganga flushes a master made in this session, made anew at each flush."""
    subjob_list = SubJobXMLList(str(root), registry=registry)
    subjob_list._reset_cachedJobs(cached)
    return subjob_list


def _index(root):
    with open(os.path.join(str(root), "subjobs.idx"), "rb") as f:
        return from_file(f)[0]


def test_a_flush_computes_the_entries_of_the_subjobs_it_saved_only(tmp_path, saves):
    saved, _ = saves
    subjobs, registry = _split_job(tmp_path, 3)
    subjobs.flush()
    assert sorted(registry.computed) == [0, 1, 2]
    changed = subjobs._cachedJobs[1]
    changed.status, changed._dirty = "running", True
    del saved[:], registry.computed[:]
    subjobs.flush()
    assert saved == [1] and registry.computed == [1]
    index = _index(tmp_path)
    assert [index[n]["status"] for n in range(3)] == ["new", "running", "new"]
    assert index[1]["modified"] == os.stat(os.path.join(str(tmp_path), "1", "data")).st_ctime


def test_a_subjob_changed_after_its_save_is_saved_again_before_the_index(tmp_path, saves):
    saved, during = saves
    subjobs, _ = _split_job(tmp_path, 3)
    first = subjobs._cachedJobs[0]

    def change_the_first():  # a writer that got the master's lock while the flush let it go
        first.status, first._dirty = "killed", True

    during[3] = change_the_first
    subjobs.flush()
    assert saved == [0, 1, 2, 0]
    assert not first._dirty
    with open(os.path.join(str(tmp_path), "0", "data")) as f:
        assert f.read() == "killed"
    assert _index(tmp_path)[0]["status"] == "killed"


def test_the_next_temporary_list_of_a_master_made_in_this_session_reuses_the_entries(tmp_path, saves):
    saved, _ = saves
    first, registry = _split_job(tmp_path, 3)
    first.flush(ignore_disk=True)
    changed = first._cachedJobs[2]
    changed.status = "completed"  # saved by the repository itself, before it makes the temporary list
    repository_xml.safe_save(os.path.join(str(tmp_path), "2", "data"), changed, None)
    del saved[:], registry.computed[:]
    _temporary_list(tmp_path, registry, dict(first._cachedJobs)).flush(ignore_disk=True)
    assert saved == [] and registry.computed == [2]
    assert [_index(tmp_path)[n]["status"] for n in range(3)] == ["new", "new", "completed"]


class _Master:
    """Stands for the master job a subjob list belongs to."""


def _with_master(subjob_list):
    master = _Master()
    object.__setattr__(subjob_list, "_parent", master)  # as _setParent leaves it, without a job's locks
    return master


def _index_file(root):
    found = os.stat(os.path.join(str(root), "subjobs.idx"))
    return found.st_ino, found.st_mtime_ns


def test_an_index_is_written_again_only_when_an_entry_or_the_file_changed(tmp_path, saves, monkeypatch):
    saved, _ = saves
    subjobs, registry = _split_job(tmp_path, 3)
    master = _with_master(subjobs)
    subjobs.flush()
    written = _index_file(tmp_path)
    assert master._subjob_index_written[1] == 3
    subjobs.flush()  # nothing saved since: the file is left as it is
    assert _index_file(tmp_path) == written
    changed = subjobs._cachedJobs[1]
    changed.status, changed._dirty = "running", True
    subjobs.flush()
    assert _index_file(tmp_path) != written and _index(tmp_path)[1]["status"] == "running"
    index = os.path.join(str(tmp_path), "subjobs.idx")
    with open(index + ".other", "wb") as f, open(index, "rb") as mine:
        f.write(mine.read())
    os.replace(index + ".other", index)  # another writer's file, the same bytes: written again
    other = _index_file(tmp_path)
    subjobs.flush()
    assert _index_file(tmp_path) != other
    import GangaCore.Core.GangaRepository.PickleStreamer as streamer

    def failing(obj, handle, *args):
        raise OSError(28, "No space left on device")  # Ganga logs it and goes on

    changed.status, changed._dirty = "completed", True
    with monkeypatch.context() as patching:
        patching.setattr(streamer, "to_file", failing)
        subjobs.flush()
    assert _index(tmp_path)[1]["status"] == "running"  # the last index written stays
    subjobs.flush()  # nothing saved since the failed write, but it was not written: written now
    assert _index(tmp_path)[1]["status"] == "completed"


def test_a_masters_entry_reads_the_kept_entries_of_its_subjobs(tmp_path, saves):
    subjobs, registry = _split_job(tmp_path, 3)
    subjobs.flush()
    subjobs._subjobIndexData = _index(tmp_path)
    del registry.computed[:]
    assert [entry["status"] for entry in subjobs.getAllCachedData()] == ["new", "new", "new"]
    assert registry.computed == []  # Ganga: every subjob in memory, at each entry of the master
    changed = subjobs._cachedJobs[2]
    changed.status, changed._dirty = "failed", True  # not saved yet: computed as it is, not kept
    assert [entry["status"] for entry in subjobs.getAllCachedData()] == ["new", "new", "failed"]
    assert registry.computed == [2]
