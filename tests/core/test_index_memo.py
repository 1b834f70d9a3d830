"""The memo of subjob index entries (``compat/flush.py``): valid until the subjob is saved again."""

from __future__ import annotations

import gc

from GangaMonitoring.compat.flush import IndexMemo


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
    found["subjobs:status"].append("x")
    assert memo.get(first) == {"status": "running", "subjobs:status": []}  # a copy each time
    memo.forget(first)
    assert memo.get(first) is None and memo.get(second) == {"status": "completed"}
    del second
    gc.collect()
    assert len(memo) == 0  # a removed job's entries go with it
    assert (memo.computed, memo.reused) == (2, 3)


def test_a_new_object_at_a_reused_address_is_not_mistaken_for_the_old_one() -> None:
    memo = IndexMemo()
    old = Subjob()
    memo.put(old, {"status": "running"})
    key = id(old)
    memo._entries[key] = (memo._entries[key][0], {"status": "running"})
    newcomer = Subjob()
    memo._entries[id(newcomer)] = memo._entries[key]  # as if newcomer had old's address
    assert memo.get(newcomer) is None
