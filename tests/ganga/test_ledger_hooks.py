"""The ledger's joined hooks: a callable joined to a hook list Ganga declares, taken off by undo_all."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.ganga


def test_a_hook_is_joined_once_and_taken_off_by_undo_all_leaving_others() -> None:
    from GangaMonitoring.patches import ledger

    def theirs(_subjob: Any) -> None:
        pass

    def ours(_subjob: Any) -> None:
        pass

    hooks: list[Any] = [theirs]
    with ledger._lock:
        ledger._join(hooks, ours)
        ledger._join(hooks, ours)
        assert hooks == [theirs, ours]
        assert not ledger.has_entry("before_subjob_save")  # not a patch: no entry of the ledger
        ledger.undo_all()
    assert hooks == [theirs]
