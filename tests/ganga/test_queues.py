"""``queues`` at the prompt: upstream's API keeps working, and it shows monitoring."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from .conftest import wait_for

pytestmark = pytest.mark.ganga


def test_queues_is_ours_and_upstream_add_still_runs_user_work(ganga_session: Any) -> None:
    from GangaMonitoring.compat.queues import MonitoringQueues

    queues = ganga_session.queues
    assert isinstance(queues, MonitoringQueues)
    ran = threading.Event()
    queues.add(ran.set)
    assert ran.wait(30)
    assert queues.totalNumUserThreads() >= 0


def test_queues_shows_backends_and_explains_a_job(ganga_session: Any) -> None:
    gpi = ganga_session
    job = gpi.Job(backend=gpi.TestSubmitter(time=600))
    job.submit()
    queues = gpi.queues
    assert wait_for(lambda: any(b["backend"] == "TestSubmitter" and b["polls"] >= 1
                                for b in queues.snapshot()["backends"]), timeout=30)
    snapshot = queues.snapshot()
    json.dumps(snapshot)
    [backend] = [b for b in snapshot["backends"] if b["backend"] == "TestSubmitter"]
    assert sum(backend["jobs"].values()) == 1
    assert "Backends:" in str(queues) and "TestSubmitter" in str(queues)
    assert "Ganga user threads" in str(queues)  # the stock part is still there
    why = queues.why(job)
    assert f"job {job.id} is" in why and "poll TestSubmitter" in why
