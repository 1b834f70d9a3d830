"""Patches item 23: Ganga's Condor update answered from event logs in one thread, by the schedd in every other."""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

import pytest

from GangaMonitoring.patches import condor_answers, ledger
from GangaMonitoring.testing import fakecondor

ROW = {"ClusterId": 7, "ProcId": 0, "JobStatus": 2, "RemoteUserCpu": 0.0}


@pytest.fixture
def condor_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A stand-in for Ganga's Condor module holding the fake bindings as ``htcondor``, patched, then undone."""
    engine = fakecondor.install()
    module = types.ModuleType(condor_answers.CONDOR_MODULE)
    module.htcondor = sys.modules["htcondor"]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, condor_answers.CONDOR_MODULE, module)
    assert condor_answers.answer_condor_from_logs() and condor_answers.installed()
    assert condor_answers.answer_condor_from_logs()  # idempotent
    try:
        yield module, engine
    finally:
        with ledger._lock:
            ledger._unwrap(module, "htcondor")
    assert module.htcondor is sys.modules["htcondor"]  # type: ignore[attr-defined]


def test_only_the_answering_thread_is_answered(condor_module: Any) -> None:
    module, engine = condor_module
    inside, asked = threading.Event(), threading.Event()
    answered: list[Any] = []

    def event_poll() -> None:
        with condor_answers.answering([ROW]):
            inside.set()
            asked.wait(30)  # another thread asks the schedd while this one is inside
            answered.append(module.htcondor.Schedd().query(constraint=fakecondor.ExprTree("true"), projection=[]))

    thread = threading.Thread(target=event_poll)
    thread.start()
    assert inside.wait(30)
    assert module.htcondor.Schedd().query(constraint=fakecondor.ExprTree("true"), projection=[]) == []  # the schedd
    assert engine.queries == 1
    asked.set()
    thread.join(30)
    assert answered == [[ROW]] and engine.queries == 1  # the log's rows, no schedd query
    assert module.htcondor.JobAction.Remove == "Remove"  # every other name is the bindings'


def test_answering_nests_and_a_schedd_is_located_only_when_used(condor_module: Any) -> None:
    module, engine = condor_module
    schedd = module.htcondor.Schedd()
    with condor_answers.answering([ROW]):
        with condor_answers.answering([]):
            assert schedd.query() == []
        assert schedd.query() == [ROW]
    assert schedd._schedd is None and engine.queries == 0
    assert schedd.act("Remove", "ClusterId == 7") == {"TotalSuccess": 0, "TotalError": 0, "TotalJobAds": 0}
    assert schedd._schedd is not None and engine.removes == 1


def test_nothing_is_installed_without_the_bindings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, condor_answers.CONDOR_MODULE, types.ModuleType(condor_answers.CONDOR_MODULE))
    assert not condor_answers.answer_condor_from_logs() and not condor_answers.installed()
