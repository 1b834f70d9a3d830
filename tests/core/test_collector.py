"""Full collections walk only what is new (``runtime/collector.py``): survivors frozen while it runs."""

from __future__ import annotations

import gc

from GangaMonitoring.runtime.collector import FreezeSurvivors


def test_survivors_of_a_full_collection_are_frozen_until_stop() -> None:
    assert gc.get_freeze_count() == 0
    freezer = FreezeSurvivors()
    freezer.start()
    try:
        freezer.start()  # idempotent: one callback
        gc.collect(1)
        assert gc.get_freeze_count() == 0 and freezer.freezes == 0  # a young collection freezes nothing
        gc.collect()
        assert gc.get_freeze_count() > 0 and freezer.freezes == 1
        assert gc.callbacks.count(freezer._after_collection) == 1
    finally:
        freezer.stop()
    assert gc.get_freeze_count() == 0 and freezer._after_collection not in gc.callbacks
    gc.collect()
    assert gc.get_freeze_count() == 0  # stopped: no more freezes
    freezer.stop()  # idempotent
