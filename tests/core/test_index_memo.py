"""The memo of subjob index entries (``repository/flush.py``): valid until the subjob is saved again."""

from __future__ import annotations

import gc
from typing import Any

from GangaMonitoring.core.weak import PerObject
from GangaMonitoring.repository.flush import IndexMemo, IndexWrites, StatMemo, file_key


class Subjob:
    """Stands for a Ganga subjob: any object that can be weakly referenced."""


def test_an_entry_lives_until_its_subjob_is_saved_or_gone() -> None:
    memo = IndexMemo()
    first, second = Subjob(), Subjob()
    memo.put(first, {"status": "running", "subjobs:status": []})
    memo.put(second, {"status": "completed"})
    found = memo.get(first)
    assert found == {"status": "running", "subjobs:status": []}
    found["modified"] = 1.0  # Ganga's writer adds this to what it is given
    assert memo.get(first) == {"status": "running", "subjobs:status": []}  # a copy each time (shallow)
    memo.forget(first)
    assert memo.get(first) is None and memo.get(second) == {"status": "completed"}
    del second
    gc.collect()
    assert len(memo) == 0  # a removed job's entries go with it
    assert (memo.computed, memo.reused) == (2, 3)


def test_a_new_object_at_a_reused_address_is_not_mistaken_for_the_old_one() -> None:
    kept: PerObject[str] = PerObject()
    old = Subjob()
    kept.put(old, "old's")
    newcomer = Subjob()
    kept._values[id(newcomer)] = kept._values[id(old)]  # as if newcomer had old's address
    assert kept.get(newcomer) is None and kept.get(old) == "old's"


def test_a_files_stat_is_kept_until_it_is_saved_and_directories_never(tmp_path: Any) -> None:
    memo = StatMemo()
    data = tmp_path / "3" / "data"
    data.parent.mkdir()
    data.write_text("one")
    first = memo.stat(str(data))
    data.write_text("two, longer")  # changed behind the memo's back: the stat it keeps is the old one
    assert memo.stat(str(tmp_path / "3" / "." / "data")) is first
    memo.forget(str(data))  # what safe_save says before it writes
    assert memo.stat(str(data)).st_size == len("two, longer")
    memo.stat(str(tmp_path))
    assert len(memo) == 1  # the directory was not kept
    small = StatMemo(limit=1)
    small.stat(str(data))
    (tmp_path / "other").write_text("x")
    small.stat(str(tmp_path / "other"))
    assert len(small) == 1


def test_an_index_is_current_while_it_is_the_file_written_and_no_subjob_was_saved_since(tmp_path: Any) -> None:
    writes, master, other = IndexWrites(), Subjob(), Subjob()
    index = tmp_path / "subjobs.idx"
    assert file_key(str(index)) is None
    assert not writes.current(master, None)  # nothing written: write
    index.write_bytes(b"entries")
    seen = writes.saves(master)
    writes.wrote(master, seen, file_key(str(index)))
    assert writes.current(master, file_key(str(index)))
    assert not writes.current(other, file_key(str(index)))  # another master's record is its own
    writes.saved(other)
    assert writes.current(master, file_key(str(index)))
    writes.saved(master)  # a subjob of the master saved: its index is to be written again
    assert not writes.current(master, file_key(str(index)))
    replaced = tmp_path / "subjobs.idx.new"
    replaced.write_bytes(b"entries")
    writes.wrote(master, writes.saves(master), file_key(str(index)))
    replaced.replace(index)  # another writer's file with the same bytes: not the one written
    assert not writes.current(master, file_key(str(index)))
    assert not writes.current(master, None)  # removed
    assert (writes.written, writes.skipped) == (2, 2)


def test_a_save_announced_while_an_index_is_computed_makes_it_stale() -> None:
    """The forced order: the entries are computed from ``saves()``; a subjob is saved before the write is
    recorded.  The record keeps the count the computation started from, so the next flush writes again."""
    writes, master = IndexWrites(), Subjob()
    key = (1, 2, 3, 4, 5)
    started_from = writes.saves(master)
    writes.saved(master)  # between the entries' computation and the record of the write
    writes.wrote(master, started_from, key)
    assert not writes.current(master, key)
    writes.wrote(master, writes.saves(master), key)
    assert writes.current(master, key)
    del master
    gc.collect()
    assert "masters=0" in repr(writes)
