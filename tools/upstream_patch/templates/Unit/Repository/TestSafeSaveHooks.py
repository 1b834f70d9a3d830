"""safe_save.before_subjob_save: the hooks called with a subjob about to be saved, before its file lock."""

import pytest

import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml


class _Node:
    def __init__(self, parent=None):
        self.parent = parent

    def _getParent(self):
        return self.parent


def _writer(written):
    def to_file(obj, f, ignore_subs=""):
        written.append(obj)
        f.write("<root/>\n")

    return to_file


@pytest.fixture
def hooks(monkeypatch):
    joined = []
    monkeypatch.setattr(repository_xml.safe_save, "before_subjob_save", joined)
    return joined


def test_ganga_has_no_hook():
    assert repository_xml.safe_save.before_subjob_save == []


def test_a_subjob_s_save_calls_the_hooks_before_the_file_lock_is_taken(tmp_path, hooks):
    master = _Node()
    subjob = _Node(parent=master)
    seen, written = [], []

    def hook(obj):
        seen.append((obj, repository_xml.safe_save.lock.locked(), list(written)))

    hooks.append(hook)
    repository_xml.safe_save(str(tmp_path / "0" / "data"), subjob, _writer(written))
    assert seen == [(subjob, False, [])]
    assert written == [subjob]
    assert (tmp_path / "0" / "data").read_text() == "<root/>\n"


def test_a_top_level_object_s_save_calls_no_hook(tmp_path, hooks):
    seen, written = [], []
    hooks.append(seen.append)
    repository_xml.safe_save(str(tmp_path / "data"), _Node(), _writer(written))
    assert seen == [] and len(written) == 1


def test_a_hook_that_raises_stops_the_save_before_anything_is_written(tmp_path, hooks):
    def hook(obj):
        raise RuntimeError("no")

    hooks.append(hook)
    with pytest.raises(RuntimeError):
        repository_xml.safe_save(str(tmp_path / "0" / "data"), _Node(parent=_Node()), _writer([]))
    assert not (tmp_path / "0").exists()
