"""An unnamed Ganga logger is named once per calling file, not at every status change (patches item 10)."""

from __future__ import annotations

import os
from typing import Any

import pytest

pytestmark = pytest.mark.ganga


def test_a_status_change_does_not_resolve_paths_to_name_a_logger(ganga_session: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Ganga builds a CompositeMonitoringService, which calls getLogger(), for every status change."""
    from GangaCore.GPIDev.MonitoringServices.Composite import CompositeMonitoringService

    first = CompositeMonitoringService([], [], []).logger
    resolved: list[str] = []
    realpath = os.path.realpath

    def counting(path: Any, *args: Any, **kwargs: Any) -> str:
        resolved.append(str(path))
        return realpath(path, *args, **kwargs)

    monkeypatch.setattr(os.path, "realpath", counting)
    second = CompositeMonitoringService([], [], []).logger
    assert second is first
    assert first.name == "GangaCore.GPIDev.MonitoringServices"  # the name stock Ganga gives it
    assert resolved == []


def test_every_caller_gets_the_logger_stock_gives_it(ganga_session: Any) -> None:
    import GangaCore.Utility.logging as ganga_logging

    from GangaMonitoring import patches

    stock = next(original for owner, name, original in patches.ledger._wrapped_actions
                 if owner is ganga_logging and name == "getLogger")
    assert stock is not ganga_logging.getLogger
    # both called from this line's frame: Ganga names the logger after this file
    for modulename in (None, 1, "part"):
        expected = stock(None, modulename)
        assert ganga_logging.getLogger(None, modulename) is expected
        assert ganga_logging.getLogger(None, modulename) is expected
    assert ganga_logging.getLogger("GangaMonitoring.test") is stock("GangaMonitoring.test")
    assert ganga_logging.getLogger(None, 1).name != ganga_logging.getLogger().name


def test_the_patch_is_undone_at_stop(gangadir: str) -> None:
    import GangaCore.Utility.logging as ganga_logging
    from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga

    from .conftest import ganga_options

    start_ganga(gangadir, extra_opts=ganga_options())
    assert getattr(ganga_logging.getLogger, "__gm_wrapped__", False)
    stop_ganga()
    assert not getattr(ganga_logging.getLogger, "__gm_wrapped__", False)
