"""The core stays pure: no thread, no Ganga, no other layer; and the deciding modules never read a clock."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).parents[2] / "src" / "GangaMonitoring" / "core"

THREADED = ("threading", "concurrent", "multiprocessing", "asyncio", "_thread", "subprocess")
"""Modules that start threads or processes, or run work on them: the ``runtime`` layer's, not the core's."""
LOCKS = {"Lock", "RLock"}
"""What the core may take of ``threading``: its locks (some of the core's state is read from several threads)."""
ALLOWED = ("tenacity",)
"""Third-party modules the core may import (pure: retry strategies)."""


def test_core_imports_nothing_of_ganga() -> None:
    code = ("import sys, GangaMonitoring.core.scheduler, GangaMonitoring.core.planner, "
            "GangaMonitoring.runtime.runner, GangaMonitoring.runtime.pools, GangaMonitoring.drivers.outputs, "
            "GangaMonitoring.integration.postprocess_files, "
            "GangaMonitoring.simulator.model, GangaMonitoring.testing; "
            "print(sorted(m for m in sys.modules if m.startswith('Ganga')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "GangaCore" not in out and "GangaMonitoring" in out


@pytest.mark.parametrize("module", ["scheduler.py", "planner.py", "index.py", "work.py", "retry.py"])
def test_deciding_modules_take_time_as_an_argument(module: str) -> None:
    source = (CORE / module).read_text()
    assert not re.search(r"^\s*(import time|from time import)|\btime\.(time|monotonic|sleep)\(", source, re.M)


def _core_modules() -> list[Path]:
    modules = sorted(CORE.glob("*.py"))
    assert len(modules) > 10, f"no core modules found under {CORE}"
    return modules


@pytest.mark.parametrize("path", _core_modules(), ids=lambda p: p.name)
def test_core_imports_nothing_threaded_nor_ganga_nor_another_layer(path: Path) -> None:
    """A core module imports the standard library (no threads, no processes), tenacity and the core only.

    ``threading`` is allowed for its locks alone (``threading.Lock()``, ``threading.RLock()``), read
    as attributes: a thread, a timer or an event loop started here would make the core's tests
    depend on timing, which is the runtime layer's business.
    """
    tree = ast.parse(path.read_text(), str(path))
    wrong = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: within core only
                if node.level > 1:
                    wrong.append(f"line {node.lineno}: from {'.' * node.level}{node.module or ''} (outside core)")
                continue
            names = [node.module or ""]
            if node.module == "threading":
                wrong.extend(f"line {node.lineno}: from threading import {alias.name}"
                             for alias in node.names if alias.name not in LOCKS)
                continue
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "threading":
            if node.attr not in LOCKS:
                wrong.append(f"line {node.lineno}: threading.{node.attr}")
            continue
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in THREADED and top != "threading":
                wrong.append(f"line {node.lineno}: import {name} (threads or processes)")
            elif top.startswith("Ganga") and top != "GangaMonitoring" or name.startswith("GangaMonitoring."):
                wrong.append(f"line {node.lineno}: import {name} (Ganga, or another layer)")
            elif top not in sys.stdlib_module_names and top not in ALLOWED and top != "threading":
                wrong.append(f"line {node.lineno}: import {name} (not the standard library)")
    assert not wrong, f"core/{path.name} is not pure: " + "; ".join(wrong)
