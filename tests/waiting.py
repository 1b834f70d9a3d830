"""Waiting for a condition of real processes (jobs, a simulator) in real time."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, period: float = 0.1) -> bool:
    """Poll ``predicate`` until true or ``timeout``: for real jobs in real time only."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(period)
    return predicate()
