"""SubJobXMLList: what a flush of a split master asks of it, done once."""

import os
import threading

import pytest

from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList


def _master_directory(root, subjobs):
    for index in range(subjobs):
        os.makedirs(os.path.join(str(root), str(index)))
        with open(os.path.join(str(root), str(index), "data"), "w"):
            pass
    return str(root)


@pytest.fixture
def counts(monkeypatch):
    """The number of times the subjob directories are counted."""
    made = []
    real_count = SubJobXMLList.countSubJobDirs

    def counting(*args):
        made.append(args)
        return real_count(*args)

    monkeypatch.setattr(SubJobXMLList, "countSubJobDirs", staticmethod(counting))
    return made


class _Subjob:
    def _setParent(self, parent):
        self.parent = parent


def test_the_subjobs_are_counted_once_though_a_flush_moves_the_directory_s_ctime(tmp_path, counts):
    subjobs = SubJobXMLList(_master_directory(tmp_path, 3), registry=object())
    assert len(subjobs) == 3
    for change in range(3):  # what each flush does to the master's directory
        with open(os.path.join(str(tmp_path), f"data.new{change}"), "w"):
            pass
        os.utime(str(tmp_path), (change, change))
        assert len(subjobs) == 3
    assert len(counts) == 1


def test_appended_subjobs_are_counted(tmp_path, counts, monkeypatch):
    subjobs = SubJobXMLList(_master_directory(tmp_path, 2), registry=object())
    assert len(subjobs) == 2

    def flush(ignore_disk=False):
        assert ignore_disk
        os.makedirs(os.path.join(str(tmp_path), "2"))

    monkeypatch.setattr(subjobs, "flush", flush)
    subjobs.appendJobs({2: _Subjob()}, parent=None)
    assert len(subjobs) == 3
    assert len(counts) == 2


def test_a_removed_job_has_no_subjobs(tmp_path, counts):
    directory = _master_directory(tmp_path / "job", 2)
    subjobs = SubJobXMLList(directory, registry=object())
    assert len(subjobs) == 2
    for index in range(2):
        os.remove(os.path.join(directory, str(index), "data"))
        os.rmdir(os.path.join(directory, str(index)))
    os.rmdir(directory)
    assert len(subjobs) == 0


class _Master:
    def __init__(self, subjobs):
        self._data = {"subjobs": subjobs}
        self.const_lock = threading.RLock()


def test_the_temporary_list_of_a_master_made_in_this_session_does_not_read_the_old_index(tmp_path, monkeypatch):
    read = []
    monkeypatch.setattr(SubJobXMLList, "load_subJobIndex", lambda self: read.append(self))
    directory = _master_directory(tmp_path, 2)
    SubJobXMLList(directory, registry=object(), parent=_Master([_Subjob(), _Subjob()]))
    assert read == []
    loaded = SubJobXMLList(directory, registry=object(), parent=_Master([]))  # a master loaded from disk
    assert read == [loaded]
