"""Patches item 25: a split master's time stamps are taken from its subjobs once per submission.

GangaDirac's block submission stamps the master after every subjob it
submitted, and each stamp walks every subjob (``JobTime.sjStatList_return``,
once per status the subjobs have): counted here, with the stamps compared to
what Ganga's own computation gives once the submission has ended.
"""

from __future__ import annotations

from typing import Any

import pytest

from .test_dirac import dirac_session

pytestmark = pytest.mark.ganga

SUBJOBS = 20


def _walks_counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statuses of every walk of a master's subjobs for a stamp, in order."""
    from GangaCore.GPIDev.Lib.Job.JobTime import JobTime

    walks: list[str] = []
    stock = JobTime.sjStatList_return

    def counted(self: Any, status: str) -> Any:
        walks.append(status)
        return stock(self, status)

    monkeypatch.setattr(JobTime, "sjStatList_return", counted)
    return walks


def test_a_block_submission_walks_the_subjobs_once_per_status_not_once_per_subjob(
        gangadir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with dirac_session(gangadir, ("Dirac", "maxSubjobsPerProcess", 5)) as (gpi, _component, _grid):
        job = gpi.Job(backend=gpi.Dirac(), parallel_submit=False,
                      splitter=gpi.ArgSplitter(args=[[str(n)] for n in range(SUBJOBS)]))
        walks = _walks_counted(monkeypatch)
        job.submit()
        during = list(walks)
        # Ganga's timenow after every subjob walked once per status (>= SUBJOBS walks); now once at the end
        assert 1 <= len(during) <= 4, during
        stamps = dict(job.time.timestamps)
        submitted = [sub.time.timestamps["submitted"] for sub in job.subjobs]
        assert stamps["submitted"] == min(submitted)


def test_outside_a_submission_a_master_s_stamps_are_ganga_s(gangadir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    with dirac_session(gangadir, ("Dirac", "maxSubjobsPerProcess", 5)) as (gpi, _component, _grid):
        job = gpi.Job(backend=gpi.Dirac(), parallel_submit=False,
                      splitter=gpi.ArgSplitter(args=[[str(n)] for n in range(4)]))
        job.submit()
        walks = _walks_counted(monkeypatch)
        stripProxy(job).time.timenow("submitted")
        assert walks and "submitted" in walks  # computed at once, as Ganga does
