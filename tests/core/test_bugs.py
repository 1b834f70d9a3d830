"""Our own bugs are told apart from a backend's or a job's trouble (``core/bugs.py``) and fail no job."""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest

from GangaMonitoring.core import bugs
from GangaMonitoring.runtime.isolate import CallBudget, isolate
from GangaMonitoring.drivers.base import apply_each


def raiser(path: str, source: str = "None + 1") -> Any:
    """A function whose code lives at ``path``: what it raises is raised there."""
    namespace: dict[str, Any] = {}
    exec(compile(f"def fail(*args):\n    {source}\n", path, "exec"), namespace)  # noqa: S102 - test code
    return namespace["fail"]


OURS = os.path.join(bugs.PACKAGE, "integration", "somewhere.py")
BACKEND = os.path.join(bugs.BACKENDS, "simgrid.py")


def error_of(fn: Any) -> BaseException:
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - the error is what the test looks at
        return err
    raise AssertionError("it did not raise")


def test_a_programming_error_raised_in_our_code_is_ours_and_nothing_else_is() -> None:
    assert bugs.is_own_bug(error_of(raiser(OURS)))  # TypeError in our code
    assert bugs.is_own_bug(error_of(raiser(OURS, "None.missing")))  # AttributeError
    assert not bugs.is_own_bug(error_of(raiser(BACKEND)))  # our SimGrid backend is a backend
    assert not bugs.is_own_bug(error_of(raiser(__file__)))  # anyone else's code
    assert not bugs.is_own_bug(error_of(raiser(OURS, "raise OSError(5, 'I/O error')")))  # not a programming error
    assert not bugs.is_own_bug(TypeError("never raised: no traceback"))
    assert bugs.is_own_bug(error_of(lambda: CallBudget(None).spend()))  # type: ignore[arg-type]  # a real one


def test_isolation_does_not_halve_a_batch_for_our_bug(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[list[int]] = []
    ours, theirs = raiser(OURS), raiser(BACKEND)

    def call(batch: list[int]) -> None:
        calls.append(batch)
        if 3 in batch:
            theirs()

    outcome = isolate(call, list(range(8)), CallBudget(100), bug=bugs.own_bug)
    assert [batch for batch, _ in outcome.failures] == [[3]] and len(calls) > 1  # theirs: halved down to job 3

    def buggy(batch: list[int]) -> None:
        calls.append(batch)
        ours()

    calls.clear()
    with caplog.at_level(logging.ERROR, logger="GangaMonitoring.bugs"), pytest.raises(TypeError):
        isolate(buggy, list(range(8)), CallBudget(100), bug=bugs.own_bug)
    assert calls == [list(range(8))]  # one call: no job is blamed
    assert "a bug in GangaMonitoring" in caplog.text


class Context:
    def __init__(self) -> None:
        self.failed: list[str] = []
        self.fine: list[Any] = []

    def job_failed(self, job: Any, reason: str) -> None:
        self.failed.append(reason)

    def jobs_fine(self, jobs: Any) -> None:
        self.fine.extend(jobs)


class Job:
    def getFQID(self, sep: str) -> str:  # noqa: N802 - Ganga's name
        return "1"


def test_a_driver_s_own_bug_fails_no_job_but_a_job_s_error_is_its_own() -> None:
    ctx = Context()
    assert apply_each(ctx, [(Job(), "answer")], lambda job, answer: raiser(BACKEND)()) != []  # type: ignore[arg-type]
    assert ctx.failed == ["TypeError: unsupported operand type(s) for +: 'NoneType' and 'int'"]
    ctx = Context()
    with pytest.raises(TypeError):
        apply_each(ctx, [(Job(), "answer")], lambda job, answer: raiser(OURS)())  # type: ignore[arg-type]
    assert ctx.failed == [] and ctx.fine == []


def test_a_bug_is_logged_once_per_place(caplog: pytest.LogCaptureFixture) -> None:
    fail = raiser(os.path.join(bugs.PACKAGE, "integration", "once.py"), "len(None)")
    with caplog.at_level(logging.ERROR, logger="GangaMonitoring.bugs"):
        for _ in range(3):
            assert bugs.own_bug(error_of(fail))
    assert caplog.text.count("a bug in GangaMonitoring") == 1
