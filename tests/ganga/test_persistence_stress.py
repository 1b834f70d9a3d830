"""The repository under the patches keeps one persistent state, whatever writes, flushes and kills interleave.

Black-box stress (``persistence_stress.py``, ``persistence_stress_child.py``): per seed, sessions of
a real Ganga with GangaMonitoring run writer threads (monitoring-like ``updateStatus``, ``comment``,
``force_status``, kill- and resubmit-like transitions) beside bounded flushes that let the master's
lock go before every subjob save, are SIGKILLed at a random write, and restart.  After every restart
and at quiescence: memory == data file == ``subjobs.idx`` (an index entry older than its data file
is tolerated only after a kill, as Ganga's loader trusts it, stock as ours), and every master is the
roll-up of its subjobs (counted statuses equal the subjobs').  CI runs a few seeds (under a minute);
``benchmarks/persistence_stress.py --seeds 200`` runs many.
"""

from __future__ import annotations

import pytest

from .persistence_stress import run_seed

pytestmark = pytest.mark.ganga

CI_SEEDS = (1, 2, 3, 4)


@pytest.mark.parametrize("seed", CI_SEEDS)
def test_writes_flushes_and_kills_leave_one_persistent_state(seed: int) -> None:
    result = run_seed(seed, sessions=3)
    assert not result.mismatches, f"seed {seed}: {len(result.mismatches)} mismatches:\n" + "\n".join(
        result.mismatches[:20])
    assert result.operations > 0
