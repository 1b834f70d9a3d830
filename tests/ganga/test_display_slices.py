"""Patches item 15: a job slice's display settings are evaluated once per value of the [Display] options,
not for every index entry Ganga's registry computes."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.ganga


def gangas_own_init() -> Any:
    from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice

    from GangaMonitoring import patches

    [original] = [o for owner, name, o in patches.ledger._wrapped_actions
                  if owner is JobRegistrySlice and name == "__init__"]
    return original


def entries(jobs: list[Any]) -> list[dict[str, Any]]:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    raw = [stripProxy(j) for j in jobs]
    return [r._getRegistry().getIndexCache(r) for r in raw]


def some_jobs(gpi: Any) -> list[Any]:
    split = gpi.Job(name="split", backend=gpi.TestSubmitter(time=100),
                    splitter=gpi.ArgSplitter(args=[["a"], ["b"], ["c"]]))
    split.submit()
    return [gpi.Job(name="plain", comment="a comment"), split, *split.subjobs]


def test_index_entries_are_those_gangas_own_slices_give_and_settings_are_evaluated_once(
        ganga_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice

    from GangaMonitoring import patches

    jobs = some_jobs(ganga_session)
    templates = patches.slices.SLICE_TEMPLATES
    assert templates is not None
    built = templates.built
    ours = [entries(jobs) for _ in range(20)]
    assert templates.built - built <= 1 and templates.copied >= 20 * len(jobs)
    monkeypatch.setattr(JobRegistrySlice, "__init__", gangas_own_init())
    stock = entries(jobs)
    assert all(e == stock for e in ours)
    assert any(k.startswith("display:") for k in stock[0])


def test_a_display_option_changed_at_the_prompt_applies_to_the_next_entries(
        ganga_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice
    from GangaCore.Utility.Config import getConfig

    jobs = some_jobs(ganga_session)
    before = entries(jobs)
    display = getConfig("Display")
    columns = display["jobs_columns"]
    display.setUserValue("jobs_columns", ("fqid", "status", "name"))
    try:
        after = entries(jobs)
        assert {k for k in after[0] if k.startswith("display:")} == {"display:fqid", "display:status", "display:name"}
        assert after != before
        monkeypatch.setattr(JobRegistrySlice, "__init__", gangas_own_init())
        assert entries(jobs) == after
    finally:
        display.setUserValue("jobs_columns", columns)


def test_slices_made_from_a_template_share_nothing_that_changes(ganga_session: Any) -> None:
    from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice

    first, second = JobRegistrySlice("one"), JobRegistrySlice("two")
    assert (first.name, second.name) == ("one", "two")
    assert first.objects is not second.objects and len(second.objects) == 0
    assert first.status_colours == second.status_colours and first.status_colours is not second.status_colours
    assert set(vars(first)) == set(vars(second))
    first.objects[1] = "x"
    assert len(JobRegistrySlice("three").objects) == 0


def test_the_patch_is_undone_at_stop(gangadir: str) -> None:
    from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice

    from .conftest import ganga_running

    with ganga_running(gangadir):
        assert getattr(vars(JobRegistrySlice)["__init__"], "__gm_wrapped__", False)
    assert not getattr(vars(JobRegistrySlice)["__init__"], "__gm_wrapped__", False)
