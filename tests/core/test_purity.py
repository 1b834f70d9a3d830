"""The core stays pure: no Ganga import, and the deciding modules never read a clock."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).parents[2] / "src" / "GangaMonitoring" / "_core"


def test_core_imports_nothing_of_ganga() -> None:
    code = ("import sys, GangaMonitoring._core.scheduler, GangaMonitoring._core.planner, "
            "GangaMonitoring._core.runner, GangaMonitoring._core.pools, GangaMonitoring.drivers.outputs, "
            "GangaMonitoring.compat.postprocess_files, "
            "GangaMonitoring.simulator.model, GangaMonitoring.testing; "
            "print(sorted(m for m in sys.modules if m.startswith('Ganga')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "GangaCore" not in out and "GangaMonitoring" in out


@pytest.mark.parametrize("module", ["scheduler.py", "planner.py", "index.py", "work.py", "retry.py"])
def test_deciding_modules_take_time_as_an_argument(module: str) -> None:
    source = (CORE / module).read_text()
    assert not re.search(r"^\s*(import time|from time import)|\btime\.(time|monotonic|sleep)\(", source, re.M)
