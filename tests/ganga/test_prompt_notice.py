"""The prompt notice: shown when monitoring falls behind or a backend keeps failing, once per change."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

pytestmark = pytest.mark.ganga


class Shell:
    def __init__(self) -> None:
        self.callbacks: list[Any] = []
        self.events = SimpleNamespace(register=lambda event, cb: self.callbacks.append((event, cb)),
                                      unregister=lambda event, cb: self.callbacks.remove((event, cb)))


def fake_component(behind: float = 0.0, failures: int = 0, breakers: dict[str, str] | None = None,
                   holds: dict[str, str] | None = None) -> SimpleNamespace:
    record = SimpleNamespace(consecutive_failures=failures, last_error="HTTP 503")
    stats = SimpleNamespace(oldest_ready_age=behind)
    return SimpleNamespace(poll_records={"SimGrid": record},
                           runner=SimpleNamespace(statistics=lambda: stats, breaker_states=lambda: breakers or {},
                                                  breaker_holds=lambda: holds or {}))


def test_notice_is_printed_once_per_change(ganga_session: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from GangaMonitoring.compat.prompt import PromptNotice

    component = fake_component()
    notice = PromptNotice(component)
    notice()
    assert capsys.readouterr().out == ""
    component.poll_records["SimGrid"].consecutive_failures = 3
    notice()
    notice()
    assert capsys.readouterr().out == ("GangaMonitoring: SimGrid failing (3 polls: HTTP 503) "
                                       "(type `queues` for details)\n")
    component.poll_records["SimGrid"].consecutive_failures = 7  # issue 16: the growing count repeated it
    notice()
    assert capsys.readouterr().out == ""
    component.runner = fake_component(behind=120).runner
    notice()
    assert "work has waited 120 s" in capsys.readouterr().out
    component.runner = fake_component(behind=180).runner
    notice()
    assert capsys.readouterr().out == ""  # still behind: nothing new to say
    component.runner = fake_component(breakers={"SimGrid": "open for 3 s, next probe in 7 s"}).runner
    notice()
    assert capsys.readouterr().out == ("GangaMonitoring: SimGrid down (its work waits; probing it) "
                                       "(type `queues` for details)\n")
    component.poll_records["SimGrid"].consecutive_failures = 0
    held = "no valid credential for the SimGrid jobs (GridTicket()): their polls and downloads wait"
    component.runner = fake_component(breakers={"SimGrid (credential)": f"held for 2 s: {held}"},
                                      holds={"SimGrid (credential)": held}).runner
    notice()
    assert capsys.readouterr().out == f"GangaMonitoring: {held} (type `queues` for details)\n"
    component.runner = fake_component().runner
    notice()
    assert capsys.readouterr().out == "GangaMonitoring: monitoring is back to normal\n"


def test_attaches_to_ipython_once_its_shell_exists(ganga_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython

    from GangaMonitoring.compat.prompt import PromptNotice

    shell = Shell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    notice = PromptNotice(fake_component())
    notice.attach_if_possible()
    notice.attach_if_possible()
    assert shell.callbacks == [("post_execute", notice)]
    notice.detach()
    assert shell.callbacks == []
