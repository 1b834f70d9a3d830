"""The longer switch interval of what the user typed (``runtime/gil.py``): shared, and always put back."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from GangaMonitoring.runtime.gil import SwitchInterval


@pytest.fixture(autouse=True)
def default_interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def test_longer_within_and_put_back_after() -> None:
    hold = SwitchInterval(0.05)
    with hold.longer():
        assert sys.getswitchinterval() == pytest.approx(0.05, abs=1e-5)
    assert sys.getswitchinterval() == pytest.approx(0.005, abs=1e-5)


def test_nested_and_concurrent_holders_share_one_change() -> None:
    hold = SwitchInterval(0.05)
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with hold.longer():
            inside.set()
            leave.wait(30)

    thread = threading.Thread(target=other)
    with hold.longer():
        thread.start()
        assert inside.wait(30)
        with hold.longer():
            assert sys.getswitchinterval() == pytest.approx(0.05, abs=1e-5)
    assert sys.getswitchinterval() == pytest.approx(0.05, abs=1e-5)  # the other thread still holds it
    leave.set()
    thread.join(30)
    assert sys.getswitchinterval() == pytest.approx(0.005, abs=1e-5) and hold.entered == 3


def test_a_change_made_meanwhile_is_kept_and_a_longer_interval_is_not_shortened() -> None:
    hold = SwitchInterval(0.05)
    with hold.longer():
        sys.setswitchinterval(0.02)  # someone else's
    assert sys.getswitchinterval() == pytest.approx(0.02, abs=1e-5)
    sys.setswitchinterval(0.1)
    with hold.longer():
        assert sys.getswitchinterval() == pytest.approx(0.1, abs=1e-5)
    assert sys.getswitchinterval() == pytest.approx(0.1, abs=1e-5)
