"""autoKillThreshold and auto-resubmit, which Ganga 8.7's monitoring no longer applied, on the simulator."""

from __future__ import annotations

from typing import Any

import pytest

from GangaMonitoring.core.work import JobKey

from .conftest import wait_for
from .test_simgrid import ganga_on, own_simgrid

pytestmark = pytest.mark.ganga


def test_a_split_job_whose_subjobs_all_fail_is_killed_at_the_threshold(gangadir: str) -> None:
    with own_simgrid("--queue-time", "0", "0", "--run-time", "1", "40", "--failure-fraction", "1.0",
                     "--output-bytes", "64") as grid, \
            ganga_on(gangadir, grid, ("PollThread", "autoKillThreshold", 5)) as gpi:
        job = gpi.Job(backend=gpi.SimGrid(), splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(30)]))
        job.submit()
        # Ganga rolls a master with failed and killed subjobs up to "failed"
        assert wait_for(lambda: job.status in ("killed", "failed"), timeout=90), job.status
        statuses = [sj.status for sj in job.subjobs]
        assert statuses.count("failed") >= 5 and "killed" in statuses and "completed" not in statuses


def test_a_failing_plain_job_with_auto_resubmit_is_resubmitted_up_to_the_limit(gangadir: str) -> None:
    with own_simgrid("--queue-time", "0", "0", "--run-time", "0.5", "0.5", "--failure-fraction", "1.0",
                     "--output-bytes", "64") as grid, \
            ganga_on(gangadir, grid, ("PollThread", "MaxNumResubmits", 2)) as gpi:
        job = gpi.Job(backend=gpi.SimGrid(), do_auto_resubmit=True)
        job.submit()
        assert wait_for(lambda: job.info.submit_counter == 3 and job.status == "failed", timeout=90), (
            job.status, job.info.submit_counter)
        assert not wait_for(lambda: job.info.submit_counter > 3, timeout=4)  # and no further


def test_failed_subjobs_with_auto_resubmit_are_resubmitted_until_they_complete(gangadir: str) -> None:
    with own_simgrid("--queue-time", "0", "0.5", "--run-time", "0.5", "2", "--failure-fraction", "0.3",
                     "--output-bytes", "64", "--seed", "3") as grid, \
            ganga_on(gangadir, grid, ("PollThread", "MaxFracForResubmit", 0.9)) as gpi:
        job = gpi.Job(backend=gpi.SimGrid(), do_auto_resubmit=True,
                      splitter=gpi.ArgSplitter(args=[[str(i)] for i in range(20)]))
        job.submit()
        assert wait_for(lambda: job.status == "completed", timeout=120), [sj.status for sj in job.subjobs]
        assert any(sj.info.submit_counter > 1 for sj in job.subjobs)  # some failed, and were resubmitted


def test_the_record_of_kill_resubmit_keeps_only_recent_ones(ganga_session: Any) -> None:
    """Issue 18, correctness 5: a session that saw 100,000 jobs kept a check time for each for good."""
    import math

    from GangaCore.Core import monitoring_component as component

    checks = component.kill_resubmit
    now = component.clock.now()
    checks.checked = {job_id: now - 3600.0 for job_id in range(1000)}
    checks.checked[5000] = now
    checks.pruned_at = -math.inf
    checks.after_poll([])
    assert checks.checked == {5000: now}


def test_what_monitoring_gave_up_for_a_removed_job_is_forgotten_at_the_next_reconcile(ganga_session: Any) -> None:
    """Issue 18, correctness 5: ``output_failures`` kept an entry for every job given up, removed or not."""
    from GangaCore.Core import monitoring_component as component

    kept, removed = ganga_session.Job(), ganga_session.Job()
    component.output_failures[f"{kept.id}.0"] = (JobKey(kept.id, 0), "output not retrieved: gone")
    component.output_failures[f"{removed.id}"] = (JobKey(removed.id), "output not retrieved: gone")
    removed.remove()
    component._reconcile_now(recover=False)
    assert list(component.output_failures) == [f"{kept.id}.0"]
