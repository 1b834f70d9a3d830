"""The demo's timing of what the user types: each sample says where its time went (CPU, collector, waits)."""

from __future__ import annotations

import gc
from types import SimpleNamespace

from GangaMonitoring.demo import CollectorTime, PromptOperations


def test_a_sample_has_its_cpu_its_collections_and_its_context_switches() -> None:
    collector = CollectorTime()
    table = SimpleNamespace(_display=lambda interactive: gc.collect())  # a table inside which a collection runs
    typed = PromptOperations(SimpleNamespace(jobs=table), None, collector)
    collector.start()
    try:
        typed.next()
        typed.next()
    finally:
        collector.stop()
    summary = typed.summary()["jobs table"]
    assert summary["n"] == 2 and len(summary["samples"]) == 2
    wall, cpu, collecting, others, voluntary, involuntary = summary["samples"][0]
    assert 0 < collecting <= wall and cpu > 0 and others >= 0 and voluntary >= 0 and involuntary >= 0
    assert collector.summary()["gen2"]["n"] == 2
