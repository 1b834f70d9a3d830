"""Ganga's stack tracer writes every thread's stack as plain escaped text, not through pygments (patches item 12)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.ganga


def test_the_trace_shows_every_thread_without_colouring(ganga_session: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from GangaCore.Utility import stacktracer

    def no_colouring(*_args: Any, **_kwargs: Any) -> str:
        raise AssertionError("pygments was called")

    with monkeypatch.context() as patched:
        patched.setattr(stacktracer, "highlight", no_colouring)
        page = stacktracer.stacktraces()
    assert "<h2>MainThread</h2>" in page
    assert "GangaMon-dispatch" in page  # our threads are traced like Ganga's
    assert "in test_the_trace_shows_every_thread_without_colouring" in page  # this frame, as text
    assert "&lt;" in page and "<module>" not in page  # frame names like <module> are escaped
    assert page.count("<pre>") == page.count("</pre>") == page.count("<h2>")


def test_the_patch_is_undone_at_stop(gangadir: str) -> None:
    from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga
    from GangaCore.Utility import stacktracer

    from .conftest import ganga_options

    start_ganga(gangadir, extra_opts=ganga_options())
    assert getattr(stacktracer.highlight_trace, "__gm_wrapped__", False)
    stop_ganga()
    assert not getattr(stacktracer.highlight_trace, "__gm_wrapped__", False)
