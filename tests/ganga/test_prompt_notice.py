"""The prompt notice: shown when monitoring falls behind or a backend keeps failing, once per change."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from GangaMonitoring.core.breaker import BreakerSnapshot
from GangaMonitoring.views.snapshot import BackendSnapshot, MonitoringSnapshot

pytestmark = pytest.mark.ganga


class Shell:
    def __init__(self) -> None:
        self.callbacks: list[Any] = []
        self.events = SimpleNamespace(register=lambda event, cb: self.callbacks.append((event, cb)),
                                      unregister=lambda event, cb: self.callbacks.remove((event, cb)))


class FakeComponent:
    """What the notice reads of a component: its statistics, from the state the test sets."""

    def __init__(self) -> None:
        self.behind = 0.0
        self.failures = 0
        self.breakers: list[BreakerSnapshot] = []

    def statistics(self, jobs: bool = True, work: bool = True) -> MonitoringSnapshot:
        backend = BackendSnapshot("SimGrid", {}, polls=9, failures=self.failures,
                                  consecutive_failures=self.failures, last_poll_ago=1.0, last_poll_duration=0.1,
                                  last_poll_jobs=1, next_poll_in=None,
                                  last_error="HTTP 503" if self.failures else None)
        return MonitoringSnapshot(enabled=True, alive=True, pools=[], queued=[], running=[], backends=[backend],
                                  retrieval_backlog=0, finalisation_backlog=0, oldest_ready_age=self.behind,
                                  breakers=list(self.breakers))


def breaker(name: str, held: str | None = None) -> BreakerSnapshot:
    return BreakerSnapshot(name, "open", held=held is not None, open_for=3.0, next_probe_in=None if held else 7.0,
                           consecutive_failures=5, trips=1, last_error=held or "HTTP 503")


def test_notice_is_printed_once_per_change(ganga_session: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from GangaMonitoring.views.prompt import PromptNotice

    component = FakeComponent()
    notice = PromptNotice(component)
    notice()
    assert capsys.readouterr().out == ""
    component.failures = 3
    notice()
    notice()
    assert capsys.readouterr().out == ("GangaMonitoring: SimGrid failing (3 polls: HTTP 503) "
                                       "(type `queues` for details)\n")
    component.failures = 7  # issue 16: the growing count repeated it
    notice()
    assert capsys.readouterr().out == ""
    component.failures, component.behind = 0, 120.0
    notice()
    assert "work has waited 120 s" in capsys.readouterr().out
    component.behind = 180.0
    notice()
    assert capsys.readouterr().out == ""  # still behind: nothing new to say
    component.behind, component.failures, component.breakers = 0.0, 7, [breaker("SimGrid")]
    notice()
    assert capsys.readouterr().out == ("GangaMonitoring: SimGrid down (its work waits; probing it) "
                                       "(type `queues` for details)\n")  # down says more than failing
    component.failures = 0
    held = "no valid credential for the SimGrid jobs (GridTicket()): their polls and downloads wait"
    component.breakers = [breaker("SimGrid (credential)", held)]
    notice()
    assert capsys.readouterr().out == f"GangaMonitoring: {held} (type `queues` for details)\n"
    component.breakers = []
    notice()
    assert capsys.readouterr().out == "GangaMonitoring: monitoring is back to normal\n"


def test_attaches_to_ipython_once_its_shell_exists(ganga_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython

    from GangaMonitoring.views.prompt import PromptNotice

    shell = Shell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    notice = PromptNotice(FakeComponent())
    notice.attach_if_possible()
    notice.attach_if_possible()
    assert shell.callbacks == [("post_execute", notice)]
    notice.detach()
    assert shell.callbacks == []
