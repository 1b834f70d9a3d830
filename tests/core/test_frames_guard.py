"""The guard of ``sys._current_frames`` (patches, item 6) against CPython's gh-106883 deadlock."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest

from GangaMonitoring import patches

CHILD = os.path.join(os.path.dirname(__file__), "frames_stress_child.py")
needs_guard = pytest.mark.skipif(sys.version_info >= (3, 12), reason="CPython 3.12 fixed gh-106883 itself")


@needs_guard
def test_current_frames_under_thread_churn_and_cyclic_garbage_does_not_deadlock_with_the_guard() -> None:
    # Without the guard this child deadlocks within seconds on 3.11 (every thread waiting for the
    # GIL); the timeout only bounds a failure, it is not a speed check.
    child = subprocess.run([sys.executable, CHILD, "guard"], capture_output=True, text=True, timeout=300,
                           check=False)
    assert child.returncode == 0, child.stderr[-2000:]
    assert "no deadlock" in child.stdout


@needs_guard
def test_the_guard_keeps_the_collectors_state_and_is_undone() -> None:
    original = sys._current_frames
    patches.guard_current_frames()
    try:
        assert sys._current_frames is not original
        patches.guard_current_frames()  # idempotent: still one wrapper around the original
        assert sys._current_frames.__wrapped__ is original  # type: ignore[attr-defined]
        assert gc.isenabled()
        assert sys._current_frames() and gc.isenabled()
        gc.disable()
        try:
            sys._current_frames()
            assert not gc.isenabled()  # a caller that had switched it off keeps it off
        finally:
            gc.enable()
    finally:
        patches.unguard_current_frames()
    assert sys._current_frames is original
