"""The Local driver's process check, per job: one job's refused change is that job's alone."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from GangaMonitoring.core.retry import PollFailed
from GangaMonitoring.testing import FakeClock, FakeJob, RecordingContext

pytestmark = pytest.mark.ganga


def local_job(job_id: int, host: str = "here") -> FakeJob:
    """A running Local job started on ``host`` whose wrapper (pid 4242) is gone."""
    return FakeJob(job_id, SimpleNamespace(wrapper_pid=[4242], actualCE=host), status="running")


def driver(clock: FakeClock) -> Any:
    from GangaMonitoring.drivers.local import LocalDriver

    return LocalDriver(alive=lambda pid: False, clock=clock.now, this_host="here")


def test_a_job_whose_process_is_gone_fails_after_the_grace_and_others_are_left_alone() -> None:
    clock = FakeClock(100.0)
    gone, elsewhere = local_job(1), local_job(2, host="another-host")
    ctx = RecordingContext(stock_update=lambda jobs: None)
    local = driver(clock)
    local.poll([gone, elsewhere], ctx)
    assert gone.status == "running" and not ctx.ended  # it may just be writing its exit code
    clock.jump(local.EXIT_FILE_GRACE + 1)
    local.poll([gone, elsewhere], ctx)
    assert gone.status == "failed" and "pid 4242" in ctx.ended["1"][1]
    assert elsewhere.status == "running"  # its pid means nothing on this host


def test_one_job_refusing_its_end_does_not_stop_the_others() -> None:
    clock = FakeClock(100.0)
    refusing, other = local_job(1), local_job(2)
    refusing.broken = "removed meanwhile"
    ctx = RecordingContext(stock_update=lambda jobs: None)
    local = driver(clock)
    local.poll([refusing, other], ctx)
    clock.jump(local.EXIT_FILE_GRACE + 1)
    with pytest.raises(PollFailed, match="1 Local job"):  # one job's trouble: no breaker counts it
        local.poll([refusing, other], ctx)
    assert other.status == "failed"  # it was not updated when the first raised
    assert "removed meanwhile" in ctx.failed["1"]
