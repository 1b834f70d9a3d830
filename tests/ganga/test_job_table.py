"""Issue 29, item 4: a per-job view (``queues.jobs``, ``ganga-monitoring jobs``) and ``queues.notify``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from GangaMonitoring.core.work import Kind, Operation, OpKey, PriorityClass

from .conftest import ganga_running, wait_for

pytestmark = pytest.mark.ganga


def _component() -> Any:
    from GangaCore.Core import monitoring_component

    return monitoring_component


def _row(table: Any, fqid: str) -> Any:
    return next(row for row in table.rows if row.fqid == fqid)


def test_rows_filters_and_a_masters_summary(ganga_session: Any) -> None:
    gpi = ganga_session
    running = gpi.Job(name="sim-long", backend=gpi.TestSubmitter(time=600))
    running.submit()
    failing = gpi.Job(name="exits-3", application=gpi.Executable(exe="/bin/sh", args=["-c", "exit 3"]),
                      backend=gpi.Local())
    failing.submit()
    split = gpi.Job(name="split", backend=gpi.TestSubmitter(time=600),
                    splitter=gpi.ArgSplitter(args=[["a"], ["b"], ["c"]]))
    split.submit()
    assert wait_for(lambda: failing.status == "failed" and running.status == "running"
                    and all(sj.status == "running" for sj in split.subjobs), timeout=60)
    split.subjobs(0).force_status("failed")

    table = gpi.queues.jobs()
    assert str(table).splitlines()[0].split()[:4] == ["ID", "NAME", "STATUS", "BACKEND"]
    row = _row(table, str(failing.id))
    assert (row.name, row.status, row.backend) == ("exits-3", "failed", "Local")
    assert row.backend_id == str(failing.backend.id) and row.reason == "failed: exit code 3"
    assert row.run_time is not None and row.run_time >= 0
    row = _row(table, str(running.id))
    assert row.status == "running" and row.run_time is not None
    assert row.reason.startswith(("next poll in", "polling TestSubmitter now", "poll ")), row.reason
    assert wait_for(lambda: _row(gpi.queues.jobs(), str(split.id)).reason.startswith("1 failed, 2 running"),
                    timeout=30), _row(gpi.queues.jobs(), str(split.id))
    assert _row(gpi.queues.jobs(), str(split.id)).subjobs == 3

    assert [r.fqid for r in gpi.queues.jobs(status="failed").rows] == [str(failing.id)]
    everyone = {str(failing.id), str(running.id), str(split.id)}  # the master runs while its subjobs do
    assert {r.fqid for r in gpi.queues.jobs(status="failed,running").rows} == everyone
    assert {r.fqid for r in gpi.queues.jobs(status=["failed", "running"]).rows} == everyone
    assert [r.fqid for r in gpi.queues.jobs(backend="local").rows] == [str(failing.id)]
    assert [r.fqid for r in gpi.queues.jobs(name="sim").rows] == [str(running.id)]
    assert [r.fqid for r in gpi.queues.jobs(name="ex*3").rows] == [str(failing.id)]
    subjobs = gpi.queues.jobs(master=split.id)
    assert [r.fqid for r in subjobs.rows] == [f"{split.id}.{n}" for n in range(3)]
    assert [r.status for r in subjobs.rows] == ["failed", "running", "running"]
    assert [r.fqid for r in gpi.queues.jobs(master=split, status="running").rows] == \
        [f"{split.id}.1", f"{split.id}.2"]
    assert "is a subjob" in gpi.queues.jobs(master=f"{split.id}.1")
    assert "there is no job 999" in gpi.queues.jobs(master=999)
    narrow = gpi.queues.jobs(width=50)
    assert all(len(line) <= 50 for line in str(narrow).splitlines())
    running.kill()
    split.kill()


@pytest.mark.parametrize("ganga_session", [[("Monitoring", "backend_concurrency", {"TestSubmitter": 1})]],
                         indirect=True)
def test_a_job_waiting_on_its_backends_limit_says_so(ganga_session: Any) -> None:
    gpi = ganga_session
    job = gpi.Job(backend=gpi.TestSubmitter(time=600))
    job.submit()
    other = gpi.Job(backend=gpi.TestSubmitter(time=600))
    other.submit()
    component = _component()
    release = threading.Event()
    # a long call on the backend takes its only slot: the periodic poll then waits for it
    component.runner.submit(Operation(
        key=OpKey("test-long-call", job.id), kind=Kind.CALL, backend="TestSubmitter", priority=PriorityClass.USER,
        due=component.clock.now(), action=lambda _op: release.wait(60), job_ids={job.id},
        description="a long call"))
    try:
        def limited() -> bool:
            return _row(gpi.queues.jobs(), str(other.id)).reason == \
                "poll waits: backend TestSubmitter at its limit (1 running on poll)"

        assert wait_for(limited, timeout=30), gpi.queues.jobs()
        assert _row(gpi.queues.jobs(), str(job.id)).reason == "being updated now"
    finally:
        release.set()
    job.kill()
    other.kill()


def _this_source() -> dict[str, str]:
    """The environment for a child running this package from the tree under test (Ganga's start rewrites
    PYTHONPATH)."""
    import GangaMonitoring

    source = str(Path(GangaMonitoring.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}


def test_the_shell_command_reads_the_rows_a_real_session_wrote(gangadir: str) -> None:
    with ganga_running(gangadir, [("Monitoring", "status_file_interval", 0.2)]) as gpi:
        from GangaMonitoring.views import status_file
        from GangaMonitoring.config import gangadir as configured

        where = configured()
        assert where is not None
        job = gpi.Job(name="shell-view", backend=gpi.TestSubmitter(time=600))
        job.submit()
        split = gpi.Job(backend=gpi.TestSubmitter(time=600), splitter=gpi.ArgSplitter(args=[["a"], ["b"]]))
        split.submit()

        def written() -> bool:
            try:
                rows = status_file.read(where).jobs or []
            except status_file.StatusFileError:
                return False
            return {r["fqid"]: r["status"] for r in rows}.get(f"{split.id}.1") == "running" and \
                any(r["fqid"] == str(job.id) and r["status"] == "running" for r in rows)

        assert wait_for(written, timeout=30)
        command = [sys.executable, "-m", "GangaMonitoring.cli", "jobs", "--gangadir", where]

        def run(*args: str) -> str:
            done = subprocess.run([*command, *args], capture_output=True, text=True, env=_this_source())
            assert done.returncode == 0, done.stderr
            return done.stdout

        shown = run().splitlines()
        assert shown[0].startswith(f"Session pid {os.getpid()} on ") and shown[1].startswith("ID ")
        assert any(line.split()[:3] == [str(job.id), "shell-view", "running"] for line in shown[2:]), shown
        assert not any(line.startswith(f"{split.id}.") for line in shown)  # subjobs: with --master only
        rows = json.loads(run("--json", "--master", str(split.id)))
        assert [r["fqid"] for r in rows] == [f"{split.id}.0", f"{split.id}.1"]
        rows = json.loads(run("--json", "--name", "shell*"))
        assert [r["fqid"] for r in rows] == [str(job.id)]
        job.kill()
        split.kill()


def test_notify_runs_a_command_when_every_job_is_final(ganga_session: Any, tmp_path: Path) -> None:
    from GangaMonitoring.integration import notify

    gpi = ganga_session
    first = gpi.Job(backend=gpi.TestSubmitter(time=600))
    first.submit()
    second = gpi.Job(application=gpi.Executable(exe="/bin/sh", args=["-c", "sleep 1; exit 3"]), backend=gpi.Local())
    second.submit()
    out = tmp_path / "notified"
    started: list[threading.Thread] = []
    real_thread = notify.threading.Thread

    def recorded(*args: Any, **kwargs: Any) -> threading.Thread:
        thread = real_thread(*args, **kwargs)
        started.append(thread)
        return thread

    notify.threading.Thread = recorded  # type: ignore[misc]
    try:
        said = gpi.queues.notify([first, second.id], command=f"echo \"$GANGA_JOBS|$GANGA_STATUSES\" > {out}")
        assert "2 not final yet" in said
        first.kill()
        assert not started or second.status == "failed"  # one of two is final: nothing yet
        assert wait_for(lambda: bool(started), timeout=30)
        started[0].join(30)
    finally:
        notify.threading.Thread = real_thread  # type: ignore[misc]
    assert out.read_text() == f"{first.id} {second.id}|killed failed\n"


def test_notify_says_a_failing_command_in_one_line(ganga_session: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from GangaMonitoring.integration.notify import FinalWatch
    from GangaMonitoring.views.prompt import tell_user
    from GangaMonitoring.core.work import JobKey

    gpi = ganga_session
    job = gpi.Job(backend=gpi.TestSubmitter(time=600))
    job.submit()
    job.kill()
    watch = FinalWatch({JobKey(job.id): job.status}, "echo broken >&2; exit 4", tell_user)
    watch.start()
    assert watch.thread is not None
    watch.thread.join(30)
    assert f"the notify command for jobs {job.id} failed (exit status 4): broken" in capsys.readouterr().out
    said = gpi.queues.notify(job)
    assert "final already" in said
