"""Jobs whose finalisation was lost (Dirac's #2093): set back to running and finalised again, in the session."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from . import plugins
from .conftest import wait_for

pytestmark = pytest.mark.ganga

@pytest.fixture(autouse=True)
def nothing_lost_yet() -> None:
    """Job ids start again in each test's gangadir: forget the jobs of earlier tests."""
    plugins.LOST_FINALISATIONS.clear()


LOST_OPTIONS = [("Monitoring", "completing_timeout", 2.0), ("PollThread", "default_backend_poll_rate", 1)]


@pytest.mark.parametrize("ganga_session", [LOST_OPTIONS], indirect=True)
def test_a_job_whose_finalisation_was_lost_is_finalised_again(ganga_session: Any,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    gpi = ganga_session
    caplog.set_level(logging.WARNING, logger="GangaMonitoring.completing")
    job = gpi.Job(backend=plugins.ForgetfulSubmitter(time=0))
    job.submit()
    assert wait_for(lambda: job.status == "completing", timeout=60), job.status
    assert wait_for(lambda: job.status == "completed", timeout=60), job.status  # stock: completing for ever
    assert job.fqid in plugins.LOST_FINALISATIONS
    assert any("its finalisation was lost" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("ganga_session", [LOST_OPTIONS], indirect=True)
def test_subjobs_whose_finalisation_was_lost_are_finalised_again_and_the_master_completes(
        ganga_session: Any) -> None:
    gpi = ganga_session
    job = gpi.Job(backend=plugins.ForgetfulSubmitter(time=0), splitter=gpi.ArgSplitter(args=[[], [], []]))
    job.submit()
    assert wait_for(lambda: job.status == "completed", timeout=90), (job.status, [s.status for s in job.subjobs])
    assert [s.status for s in job.subjobs] == ["completed"] * 3
    assert {s.fqid for s in job.subjobs} <= plugins.LOST_FINALISATIONS


@pytest.mark.parametrize("ganga_session", [[("PollThread", "default_backend_poll_rate", 1)]], indirect=True)
def test_a_job_completing_for_less_than_the_timeout_is_left_alone(ganga_session: Any) -> None:
    gpi = ganga_session
    job = gpi.Job(backend=plugins.ForgetfulSubmitter(time=0))
    job.submit()
    assert wait_for(lambda: job.status == "completing", timeout=60), job.status
    from GangaCore.Core import monitoring_component

    monitoring_component._hand_back_stuck_jobs()  # completing_timeout is an hour
    assert job.status == "completing"
