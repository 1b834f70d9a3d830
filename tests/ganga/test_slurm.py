"""Ganga's Slurm backend on a real one-node Slurm (ci/slurm/start-slurm.sh), monitored by GangaMonitoring."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import wait_for

pytestmark = pytest.mark.ganga


def slurm_is_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    answer = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30, check=False)
    return answer.returncode == 0 and bool(answer.stdout.strip())


@pytest.fixture(scope="module", autouse=True)
def slurm() -> None:
    if slurm_is_up():
        return
    if os.environ.get("GM_REQUIRE_SLURM") == "1":
        pytest.fail("Slurm is required here (GM_REQUIRE_SLURM=1) but `sinfo` shows no node: "
                    "see the output of ci/slurm/start-slurm.sh")
    pytest.skip("no Slurm on this machine: run ci/slurm/start-slurm.sh (as root) to test against one")


SLURM_OPTIONS = [("PollThread", "Slurm", 1), ("Slurm", "heartbeat_frequency", "1")]


def slurm_job(gpi: Any, script: str, **backend: Any) -> Any:
    job = gpi.Job(application=gpi.Executable(exe="/bin/bash", args=["-c", script]), backend=gpi.Slurm(**backend))
    job.parallel_submit = False  # Ganga's parallel submit sleeps 1 s per job
    return job


def scancel(job: Any) -> None:
    subprocess.run(["scancel", str(job.backend.id)], check=True, timeout=30)


@pytest.mark.parametrize("ganga_session", [SLURM_OPTIONS], indirect=True)
def test_twenty_jobs_and_a_split_job_complete_with_their_outputs(ganga_session: Any) -> None:
    gpi = ganga_session
    jobs = []
    for n in range(20):
        job = slurm_job(gpi, f"echo hello-{n}")
        job.submit()
        jobs.append(job)
    split = gpi.Job(application=gpi.Executable(exe="/bin/bash"), backend=gpi.Slurm(),
                    splitter=gpi.ArgSplitter(args=[["-c", f"echo part-{n}"] for n in range(5)]))
    split.parallel_submit = False
    split.submit()
    assert wait_for(lambda: all(j.status == "completed" for j in [*jobs, split]), timeout=240), (
        [j.status for j in jobs], split.status)
    for n, job in enumerate(jobs):
        assert f"hello-{n}" in Path(job.outputdir, "stdout").read_text()
    for n, sub in enumerate(split.subjobs):
        assert f"part-{n}" in Path(sub.outputdir, "stdout").read_text()


@pytest.mark.parametrize("ganga_session", [SLURM_OPTIONS], indirect=True)
def test_jobs_cancelled_outside_ganga_end_killed_promptly(ganga_session: Any) -> None:
    """Stock Ganga leaves a pending job cancelled with scancel `submitted` forever, a running one
    `running` until its heartbeat times out (600 s); Slurm's own word ends them within a poll or two."""
    gpi = ganga_session
    running = slurm_job(gpi, "sleep 300")
    running.submit()
    held = slurm_job(gpi, "echo never", extraopts="--begin=now+3600")  # stays PENDING (BeginTime)
    held.submit()
    assert wait_for(lambda: running.status == "running", timeout=120), running.status
    pending = f"Slurm (id {held.backend.id}) keeps it pending: BeginTime"
    assert wait_for(lambda: pending in str(gpi.queues.why(held)), timeout=30), str(gpi.queues.why(held))
    scancel(running)
    scancel(held)
    assert wait_for(lambda: running.status == "killed" and held.status == "killed", timeout=30), (
        running.status, held.status)
    why = str(gpi.queues.why(running))
    assert f"it was killed: it ended outside Ganga: Slurm (id {running.backend.id}) says CANCELLED" in why, why
    assert "keeps it pending" not in str(gpi.queues.why(held))  # said only while the job is pending


@pytest.mark.parametrize("ganga_session", [[("PollThread", "Slurm", 30), ("Slurm", "heartbeat_frequency", "1"),
                                            ("Monitoring", "first_poll_delay", 2.0)]], indirect=True)
def test_subjobs_that_end_during_their_masters_submission_are_seen_soon_after_it(ganga_session: Any) -> None:
    """Issue 30: with [PollThread]Slurm at 30 s, subjobs that ended while their master was still being submitted
    were seen at the next whole interval (stock: within its 2 s scan after the master turned submitted), as
    first_poll_delay was not applied when a split master finished submitting."""
    import time

    gpi = ganga_session
    split = gpi.Job(application=gpi.Executable(exe="/bin/bash"), backend=gpi.Slurm(),
                    splitter=gpi.ArgSplitter(args=[["-c", f"echo part-{n}"] for n in range(12)]))
    split.parallel_submit = False
    split.submit()
    submitted = time.monotonic()
    # a poll at first_poll_delay after the submission ended (not one whole 30 s interval later): the subjobs
    # that ended meanwhile are completed within it and their outputs' retrieval
    assert wait_for(lambda: any(sj.status == "completed" for sj in split.subjobs), timeout=20), \
        [sj.status for sj in split.subjobs]
    assert time.monotonic() - submitted < 20


def slurm_end(job: Any) -> float | None:
    """When Slurm says the batch job of ``job`` ended (epoch seconds, whole), or None while it has not."""
    import time

    answer = subprocess.run(["squeue", "-h", "-t", "all", "-j", str(job.backend.id), "-o", "%T %e"],
                            capture_output=True, text=True, timeout=30, check=True).stdout.split()
    if len(answer) != 2 or answer[0] not in ("COMPLETED", "FAILED"):
        return None
    return time.mktime(time.strptime(answer[1], "%Y-%m-%dT%H:%M:%S"))


@pytest.mark.parametrize("ganga_session", [[("PollThread", "Slurm", 1), ("Slurm", "heartbeat_frequency", "30")]],
                         indirect=True)
def test_a_batch_job_ends_with_its_program_not_a_heartbeat_later(ganga_session: Any, tmp_path: Path) -> None:
    """Issue 30: Ganga's wrapper looks at its program every heartbeat_frequency (30 s) and sleeps in between, so
    a program of 2 s held its Slurm job (and slot) for ~30 s; the wrapper of patches item 19 waits on it.  The
    program's own end stamp against Slurm's end time (whole seconds): the margin is a third of the heartbeat."""
    gpi = ganga_session
    stamp, failing_stamp = tmp_path / "ended", tmp_path / "failing-ended"
    done = slurm_job(gpi, f"sleep 2; echo the-output; echo $EPOCHREALTIME > {stamp}")
    failing = slurm_job(gpi, f"sleep 2; echo the-error >&2; echo $EPOCHREALTIME > {failing_stamp}; exit 7")
    done.submit()
    failing.submit()
    assert wait_for(lambda: done.status == "completed" and failing.status == "failed", timeout=300), (
        done.status, failing.status)
    assert wait_for(lambda: slurm_end(done) is not None and slurm_end(failing) is not None, timeout=60)
    for job, ended in ((done, stamp), (failing, failing_stamp)):
        end = slurm_end(job)
        assert end is not None
        lag = end - float(ended.read_text())
        assert -1.0 < lag < 10.0, (job.id, lag)  # Ganga's wrapper: ~28 s (its second look, 30 s after its first)
    assert "the-output" in Path(done.outputdir, "stdout").read_text()
    assert done.backend.exitcode == 0
    assert failing.backend.exitcode == 7
    assert "the-error" in Path(failing.outputdir, "stderr").read_text()
