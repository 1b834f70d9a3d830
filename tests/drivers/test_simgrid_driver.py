"""The SimGrid driver's incremental polling against a real simulator: nothing is lost or fetched twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import ganga  # noqa: F401 - puts GangaCore on sys.path (the driver imports Ganga's base classes)
from GangaMonitoring.simulator.client import SimGridClient, SimGridUnavailable
from GangaMonitoring.simulator.process import SimGridProcess
from GangaMonitoring.testing import FakeJob, RecordingContext

from ..waiting import wait_for


@pytest.fixture(scope="module")
def process() -> Iterator[SimGridProcess]:
    # jobs wait an hour in the queue: nothing changes unless a test kills a job
    simgrid = SimGridProcess("--queue-time", "3600", "3600")
    simgrid.start()
    yield simgrid
    simgrid.stop()



def views_of(d: Any, client: SimGridClient, state: tuple[str, str], ids: set[int]) -> list[dict[str, Any]]:
    """A poll's views (the ids the grid did not know are another test's)."""
    return d._views(client, state, ids)[0]

def driver():  # type: ignore[no-untyped-def]
    from GangaMonitoring.drivers.simgrid import SimGridDriver

    return SimGridDriver()


def test_first_poll_reads_every_status_then_only_changes(process: SimGridProcess) -> None:
    client = process.client()
    ids = set(client.submit(5))
    d = driver()
    first = views_of(d, client, ("s", "poll"), ids)
    assert {v["id"] for v in first} == ids and {v["state"] for v in first} == {"Waiting"}
    assert views_of(d, client, ("s", "poll"), ids) == []  # nothing changed in between
    killed = sorted(ids)[:2]
    client.kill(killed)
    changed = views_of(d, client, ("s", "poll"), ids)
    assert sorted(v["id"] for v in changed) == killed and {v["state"] for v in changed} == {"Killed"}
    assert views_of(d, client, ("s", "poll"), ids) == []


def test_new_jobs_get_a_full_status_and_scopes_keep_their_own_cursor(process: SimGridProcess) -> None:
    client = process.client()
    old = set(client.submit(3))
    d = driver()
    views_of(d, client, ("s", "poll"), old)
    views_of(d, client, ("s", "poll-queued"), old)
    new = set(client.submit(2))
    assert {v["id"] for v in views_of(d, client, ("s", "poll"), old | new)} == new  # full status of the unseen
    client.kill([min(old)])
    assert [v["id"] for v in views_of(d, client, ("s", "poll"), old | new)] == [min(old)]
    # the other scope has its own cursor: the kill and the new jobs are still news to it
    assert {v["id"] for v in views_of(d, client, ("s", "poll-queued"), old | new)} == new | {min(old)}


def test_a_failed_poll_moves_no_cursor(process: SimGridProcess) -> None:
    client = process.client()
    ids = set(client.submit(2))
    d = driver()
    views_of(d, client, ("s", "poll"), ids)
    cursor = dict(d._cursor)
    dead = SimGridClient("http://127.0.0.1:9", timeout=0.5)  # nothing listens there
    with pytest.raises(SimGridUnavailable):
        views_of(d, dead, ("s", "poll"), ids | {10**6})
    assert d._cursor == cursor and d._seen[("s", "poll")] == ids


def test_many_jobs_are_re_read_a_slice_per_poll_so_no_poll_is_a_full_sweep(process: SimGridProcess) -> None:
    client = SimGridClient(process.url or "", max_batch=2)  # 6 jobs take 3 requests: "many"
    ids = set(client.submit(6))
    d = driver()
    d.FULL_STATUS_EVERY = 3
    assert {v["id"] for v in views_of(d, client, ("s", "poll"), ids)} == ids
    reread: list[int] = []
    for _ in range(3):  # nothing changes: each poll re-reads its third of the jobs, and only that
        views = views_of(d, client, ("s", "poll"), ids)
        assert len(views) == 2 and {v["state"] for v in views} == {"Waiting"}
        reread += [v["id"] for v in views]
    assert sorted(reread) == sorted(ids)  # every job read again within FULL_STATUS_EVERY polls
    client.kill([min(ids)])
    assert min(ids) in {v["id"] for v in views_of(d, client, ("s", "poll"), ids) if v["state"] == "Killed"}


def test_jobs_never_read_are_read_a_bounded_number_per_poll_and_changes_are_never_late(
        process: SimGridProcess) -> None:
    client = SimGridClient(process.url or "", max_batch=2)
    ids = set(client.submit(6))
    d = driver()
    d.NEW_READS_PER_POLL, d.FULL_STATUS_EVERY = 1, 10**6  # 2 new jobs read a poll, no re-read
    first = views_of(d, client, ("s", "poll"), ids)
    assert len(first) == 2
    late = max(ids - {v["id"] for v in first})
    client.kill([late])  # not read yet: the change still shows at the next poll, through the cursor
    second = views_of(d, client, ("s", "poll"), ids)
    assert late in {v["id"] for v in second if v["state"] == "Killed"}
    views_of(d, client, ("s", "poll"), ids)
    assert d._seen[("s", "poll")] == ids  # all read within three polls


class KillsDuringReads(SimGridClient):
    """A client whose status read is followed at once by a kill: a job finishing while a poll reads."""

    victim: int | None = None

    def status_report(self, ids):  # type: ignore[no-untyped-def]
        answer = super().status_report(ids)
        if self.victim is not None:
            self.kill([self.victim])
            self.victim = None
        return answer


def test_a_change_made_while_a_poll_reads_is_reported_by_that_poll_newest_last(process: SimGridProcess) -> None:
    client = KillsDuringReads(process.url or "", max_batch=2)
    ids = set(client.submit(4))
    d = driver()
    d.NEW_READS_PER_POLL, d.FULL_STATUS_EVERY = 1, 10**6  # 2 new jobs read a poll, no re-read
    first = {v["id"] for v in views_of(d, client, ("s", "poll"), ids)}
    client.victim = victim = max(ids - first)  # read by the next poll, and killed just after that read
    views = views_of(d, client, ("s", "poll"), ids)
    assert {v["id"] for v in views} == ids - first
    assert [v["state"] for v in views if v["id"] == victim] == ["Waiting", "Killed"]  # in this poll, last


class FakeBackend:
    def __init__(self, server: str, grid_id: int) -> None:
        self.server, self.id, self.status = server, grid_id, ""


def simgrid_job(server: str, grid_id: int) -> FakeJob:
    return FakeJob(grid_id, FakeBackend(server, grid_id))


def test_a_finished_job_is_handed_over_once_however_often_it_is_reported(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Read and reported changed in the same poll, then read again while completing: one retrieval, not three."""
    import GangaMonitoring.drivers.simgrid as module

    with SimGridProcess("--queue-time", "0", "0", "--run-time", "2", "2", "--failure-fraction", "0") as url:
        client = SimGridClient(url)
        monkeypatch.setattr(module, "client_for", lambda server: client)
        (grid_id,) = client.submit(1)
        job, ctx, d = simgrid_job(client.url, grid_id), RecordingContext(), driver()
        d.FULL_STATUS_EVERY = 1  # every poll re-reads every job, besides asking what changed
        d.poll([job], ctx)  # takes the cursor; the job is still running (it runs 2 s)
        assert wait_for(lambda: client.status([grid_id])[0]["state"] == "Done", timeout=30), "never finished"
        d.poll([job], ctx)  # the re-read and the changes query both report it Done
        d.poll([job], ctx)  # and the re-read again, while its retrieval would still run
        assert ctx.handed == [str(grid_id)]
        assert job.status == "completing" and "completed" not in job.changes


def test_a_job_the_grid_forgot_is_that_jobs_trouble_not_the_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: after the simulator restarted, every poll failed with 'HTTP 404 unknown job' for all jobs."""
    import GangaMonitoring.drivers.simgrid as module
    from GangaMonitoring.core.retry import Fault, PollFailed, fault_of

    with SimGridProcess("--queue-time", "60", "60") as url:
        client = SimGridClient(url)
        monkeypatch.setattr(module, "client_for", lambda server: client)
        (known,) = client.submit(1)
        jobs = [simgrid_job(client.url, known), simgrid_job(client.url, 10**6)]  # the second: a job it never had
        ctx, d = RecordingContext(), driver()
        with pytest.raises(PollFailed, match="does not know its job 1000000") as raised:
            d.poll(jobs, ctx)
        assert fault_of(raised.value) is Fault.JOB  # no breaker counts it
        assert list(ctx.failed) == [str(10**6)] and ctx.fine == [str(known)]
        assert jobs[0].changes == [] and jobs[0].backend.status == "Waiting"  # the known one was updated


def test_an_answer_about_another_job_is_that_jobs_trouble_and_never_completes_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """The grid answers for a job's grid id about a job of another name (it reused the id): the job is not
    handed over (no output fetched, not completed); it fails alone with a message that says why."""
    import GangaMonitoring.drivers.simgrid as module
    from GangaMonitoring.core.retry import Fault, PollFailed, fault_of

    with SimGridProcess("--queue-time", "0", "0", "--run-time", "0", "0") as url:
        client = SimGridClient(url)
        monkeypatch.setattr(module, "client_for", lambda server: client)
        theirs, ours = client.submit(2, names=["a-new-job", "ours"])
        assert wait_for(lambda: {v["state"] for v in client.status([theirs, ours])} == {"Done"}, timeout=30)
        mistaken = simgrid_job(client.url, theirs)
        mistaken.backend.token = "an-old-job"  # its own submission's name: the grid's job of that id is another
        right = simgrid_job(client.url, ours)
        right.backend.token = "ours"
        ctx, d = RecordingContext(), driver()
        with pytest.raises(PollFailed, match="about another job") as raised:
            d.poll([mistaken, right], ctx)
        assert fault_of(raised.value) is Fault.JOB  # the job's trouble, not the backend's
        assert ctx.handed == [str(ours)]  # the right one is retrieved, the mistaken one is not
        assert mistaken.changes == [] and mistaken.backend.status == ""  # nothing of the answer applied
        assert "'a-new-job', not 'an-old-job'" in ctx.failed[str(theirs)]


def test_the_stock_update_refuses_an_answer_about_another_job(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Through Ganga's entry point (download, unpack and state change in one call): the mistaken job is left
    as it was and named in the error; the other job of the same call is completed with its own output."""
    import GangaMonitoring.backends.simgrid as backend_module
    from GangaMonitoring.backends.simgrid import SimGrid

    with SimGridProcess("--queue-time", "0", "0", "--run-time", "0", "0") as url:
        client = SimGridClient(url)
        monkeypatch.setattr(backend_module, "client_for", lambda server: client)
        theirs, ours = client.submit(2, names=["a-new-job", "ours"])
        assert wait_for(lambda: {v["state"] for v in client.status([theirs, ours])} == {"Done"}, timeout=30)
        mistaken = FakeJob(1, FakeBackend(client.url, theirs), status="running", outputdir=str(tmp_path / "1"))
        mistaken.backend.token = "an-old-job"
        right = FakeJob(2, FakeBackend(client.url, ours), status="running", outputdir=str(tmp_path / "2"))
        right.backend.token = "ours"
        right.backend.finished_at = 0.0
        with pytest.raises(Exception, match="job 1 .*about another job") as raised:
            SimGrid.updateMonitoringInformation([mistaken, right])
        assert type(raised.value).__name__ == "JobError"
        assert mistaken.changes == [] and not (tmp_path / "1").exists()  # no output fetched, not completed
        assert right.changes == ["completed"] and (tmp_path / "2" / "stdout").exists()
