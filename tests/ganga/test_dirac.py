"""Ganga's real Dirac backend (GangaDirac) on the simulated DIRAC (``fakedirac``), monitored by GangaMonitoring.

GangaDirac's code runs unchanged: submission through its DIRAC server
process, monitoring and finalisation through its DIRAC executor processes,
its proxy credential through ``dirac-proxy-info``.  Only DIRAC itself is
the simulator's stand-in, answering over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from GangaMonitoring.drivers.base import FinishedWork
from GangaMonitoring.drivers.dirac import DiracDriver, _HandedOver, write_dirac_file_locations
from GangaMonitoring.drivers.outputs import retrieval_record
from GangaMonitoring.testing import FakeJob, RecordingContext

from .conftest import FAKE_DIRAC, fake_dirac_at, ganga_running, wait_for
from .test_simgrid import own_simgrid

pytestmark = pytest.mark.ganga

QUICK = ("--queue-time", "0", "0.5", "--run-time", "0.5", "1.5", "--output-bytes", "128")


@contextlib.contextmanager
def dirac_session(gangadir: str, *extra: tuple[str, str, Any], sites: dict[str, str] | None = None,
                  grid_args: tuple[str, ...] = QUICK) -> Iterator[tuple[Any, Any, Any]]:
    """A simulator behind the simulated DIRAC, and a Ganga session; yields (GPI, component, simulator)."""
    with own_simgrid(*grid_args) as grid, fake_dirac_at(grid.url, sites=sites), \
            ganga_running(gangadir, [("PollThread", "Dirac", 1), *extra]) as gpi:
        from GangaCore.Core import monitoring_component

        yield gpi, monitoring_component, grid


def monitoring_history(component: Any, job_id: int) -> str:
    """What monitoring did for job ``job_id`` and its subjobs, to tell why a test waited in vain."""
    from GangaMonitoring.integration import statistics

    def concerns_job(subject: Any) -> bool:
        parts = subject if isinstance(subject, tuple) else (subject,)
        return any(str(part).split(".")[0] == str(job_id) for part in parts)

    events = [f"{e.time:.1f} {e.key} {e.event} {e.detail}" for e in component.runner.history()
              if concerns_job(e.key.subject)]
    return "\n".join([statistics.explain(component, job_id), *events[-40:]])


def stdout_of(job: Any) -> str:
    return Path(job.outputdir, "stdout").read_text()


def test_jobs_and_a_split_job_complete_with_their_sandboxes(gangadir: str) -> None:
    streams = sys.stdout, sys.stderr
    with dirac_session(gangadir) as (gpi, component, _grid):
        jobs = [gpi.Job(backend=gpi.Dirac()) for _ in range(6)]
        for job in jobs:
            job.submit()
        split = gpi.Job(backend=gpi.Dirac(), splitter=gpi.ArgSplitter(args=[[str(n)] for n in range(4)]))
        split.submit()
        everything = [*jobs, *split.subjobs]
        assert wait_for(lambda: split.status == "completed" and all(j.status == "completed" for j in jobs),
                        timeout=120), ([j.status for j in jobs], [s.status for s in split.subjobs],
                                       monitoring_history(component, split.id))
        for job in everything:
            assert job.backend.status == "Done"
            assert "simulated job" in stdout_of(job)  # Ganga's link to the DIRAC log of the executable
            assert os.path.islink(Path(job.outputdir, "stdout"))
            assert float(job.backend.normCPUTime) > 0
            assert "backend_final" in job.time.timestamps
        assert "Dirac" in component.native_drivers, "the Dirac driver did not do the work"
        assert len(list(Path(gangadir).rglob("*.retrieved.json"))) == len(everything)  # kept for a restart
        # GangaDirac's executor process points the parent's streams at its log; the driver puts them back
        assert (sys.stdout, sys.stderr) == streams


def test_the_stock_dirac_monitoring_still_works_through_the_compatibility_path(gangadir: str) -> None:
    """native_drivers=False: GangaDirac's own coroutines (and its loop.create_task calls) run on our loop."""
    with dirac_session(gangadir, ("Monitoring", "native_drivers", False)) as (gpi, component, _grid):
        job = gpi.Job(backend=gpi.Dirac())
        job.submit()
        split = gpi.Job(backend=gpi.Dirac(), splitter=gpi.ArgSplitter(args=[["a"], ["b"]]))
        split.submit()
        assert wait_for(lambda: job.status == "completed" and split.status == "completed", timeout=120), (
            job.status, split.status)
        assert "simulated job" in stdout_of(job)
        assert "Dirac" not in component.native_drivers


def test_a_lost_sandbox_fails_the_job_with_its_reason_and_queues_retry_recovers_it(gangadir: str) -> None:
    with dirac_session(gangadir, ("Monitoring", "output_retry_for", 2.0),
                       ("Monitoring", "retry_max_wait", 0.5)) as (gpi, component, grid):
        FAKE_DIRAC.point_at(grid.url, lost_sandboxes=True)
        job = gpi.Job(backend=gpi.Dirac())
        job.submit()
        assert wait_for(lambda: job.status == "failed", timeout=60), job.status
        assert job.backend.status == "Done"  # DIRAC says done: only the output was missing
        [(_key, reason)] = component.output_failures.values()
        assert "sandbox store has no output sandbox" in reason
        assert component.native_drivers["Dirac"]._handed == {}  # given up: the driver keeps nothing of it
        FAKE_DIRAC.point_at(grid.url)
        assert gpi.queues.retry(job) == [job.fqid]
        assert wait_for(lambda: job.status == "completed", timeout=60), job.status
        assert component.native_drivers["Dirac"]._handed == {}
        assert "simulated job" in stdout_of(job)


def test_an_outage_of_dirac_delays_jobs_but_fails_none(gangadir: str) -> None:
    with dirac_session(gangadir, ("Monitoring", "retry_max_wait", 0.5),
                       ("Monitoring", "poll_retry_attempts", 3)) as (gpi, component, grid):
        jobs = [gpi.Job(backend=gpi.Dirac()) for _ in range(8)]
        for job in jobs:
            job.submit()
        grid.client().start_outage(4.0)
        assert wait_for(lambda: all(j.status == "completed" for j in jobs), timeout=120), [j.status for j in jobs]
        errors = [h.detail for h in component.runner.history() if h.event == "retry"]
        assert any("503" in detail for detail in errors), errors[:5]


def test_a_retrieval_an_interrupted_session_made_is_not_made_again(gangadir: str, tmp_path: Path) -> None:
    """The record of a retrieval survives a crash; the next session's driver finalises from it."""

    class NoDirac:
        def call(self, *args: Any, **kwargs: Any) -> Any:
            raise AssertionError("DIRAC was asked again")

    work = FinishedWork(job_key=(7, None), fqid="7", backend="Dirac", backend_id=1234,
                        outputdir=str(tmp_path / "7" / "output") + "/", final_status="completed", detail="Done")
    record = retrieval_record(work)
    os.makedirs(os.path.dirname(record))
    os.makedirs(work.outputdir)
    Path(work.outputdir, "stdout").write_text("simulated job 1234 ended Done\n")
    Path(record).write_text(json.dumps({"status": "completed", "cpu_time": "1.5", "data_info": {},
                                        "application_status": "Done", "ended": None, "oversized_tarball": None}))
    assert DiracDriver(calls=NoDirac()).retrieve(work) == record  # type: ignore[arg-type]
    # once the files are gone (j.backend.reset() empties the output dir), the record is stale: fetch again
    os.remove(Path(work.outputdir, "stdout"))
    driver = DiracDriver(calls=NoDirac())  # type: ignore[arg-type]
    driver._handed[1234] = _HandedOver(credential=None, download_sandbox=True, unpack_sandbox=True)  # as a poll does
    with pytest.raises(AssertionError, match="DIRAC was asked again"):
        driver.retrieve(work)
    assert not os.path.exists(record)


def test_dirac_file_locations_are_written_in_the_form_ganga_reads(gangadir: str) -> None:
    with dirac_session(gangadir) as (gpi, _component, _grid):
        from GangaCore.GPIDev.Base.Proxy import stripProxy

        job = gpi.Job(backend=gpi.Dirac(), outputfiles=[gpi.DiracFile("*.root"), gpi.DiracFile("summary.xml")])
        raw = stripProxy(job)
        os.makedirs(raw.getOutputWorkspace().getPath(), exist_ok=True)
        info = {"hist.root": {"LFN": "/sim/user/hist.root", "LOCATIONS": ["SIM-DISK"], "GUID": "G-1"},
                "summary.xml": {"LFN": "/sim/user/summary.xml", "LOCATIONS": ["SIM-DISK"], "GUID": "G-2"}}
        assert write_dirac_file_locations(raw, info) == 2
        wildcard, plain = raw.outputfiles
        wildcard.setLocation()
        plain.setLocation()
        [found] = wildcard.subfiles
        assert (found.lfn, found.guid, list(found.locations)) == ("/sim/user/hist.root", "G-1", ["SIM-DISK"])
        assert (plain.lfn, plain.guid) == ("/sim/user/summary.xml", "G-2")


def test_jobs_go_to_the_site_their_settings_name(gangadir: str) -> None:
    with own_simgrid(*QUICK, "--failure-fraction", "1.0") as failing, \
            dirac_session(gangadir, sites={"LCG.Failing.sim": failing.url}) as (gpi, _component, _grid):
        good = gpi.Job(backend=gpi.Dirac())
        bad = gpi.Job(backend=gpi.Dirac(settings={"Destination": "LCG.Failing.sim"}))
        good.submit()
        bad.submit()
        assert wait_for(lambda: good.status == "completed" and bad.status == "failed", timeout=60), (
            good.status, bad.status)
        assert (good.backend.actualCE, bad.backend.actualCE) == ("SimGrid.local.sim", "LCG.Failing.sim")
        assert "ended Failed" in stdout_of(bad)  # [DIRAC]failed_sandbox_download: a failed job's sandbox too


def test_a_killed_dirac_process_is_started_again_and_every_job_completes(gangadir: str) -> None:
    import signal

    from GangaDirac.Lib.Server.DiracProcessManager import AsyncDiracManager

    seen: dict[int, Any] = {}

    def note_processes() -> list[Any]:
        alive = [p for p in AsyncDiracManager().active_processes.values() if p.is_alive()]
        seen.update((p.pid, p) for p in alive)
        return alive

    with dirac_session(gangadir, ("Monitoring", "retry_max_wait", 0.5)) as (gpi, component, _grid):
        jobs = [gpi.Job(backend=gpi.Dirac()) for _ in range(6)]
        for job in jobs:
            job.submit()
        assert wait_for(lambda: bool(note_processes()), timeout=30)
        [first] = note_processes()
        os.kill(first.pid, signal.SIGKILL)
        assert wait_for(lambda: note_processes() == [] and all(j.status == "completed" for j in jobs),
                        timeout=120), [j.status for j in jobs]
        assert all("simulated job" in stdout_of(j) for j in jobs)
        assert component.native_drivers["Dirac"].calls.starts >= 2, "no new DIRAC process took over"
    assert not any(p.is_alive() for p in seen.values()), "a DIRAC process outlived its teardown"


def test_a_killed_job_resubmitted_completes(gangadir: str) -> None:
    with own_simgrid("--queue-time", "0", "0", "--run-time", "600", "600") as slow, \
            dirac_session(gangadir, sites={"LCG.Site.sim": slow.url}) as (gpi, _component, grid):
        job = gpi.Job(backend=gpi.Dirac(settings={"Destination": "LCG.Site.sim"}))
        job.submit()
        assert wait_for(lambda: job.status == "running", timeout=60), job.status
        job.kill()
        assert job.status == "killed"
        submits = job.info.submit_counter
        FAKE_DIRAC.point_at(grid.url, sites={"LCG.Site.sim": grid.url})  # the site is quick now
        job.resubmit()
        assert wait_for(lambda: job.status == "completed", timeout=60), job.status
        assert job.info.submit_counter > submits and job.backend.actualCE == "LCG.Site.sim"
        assert "simulated job" in stdout_of(job)


def test_dirac_calls_made_at_once_from_many_threads_all_get_their_answers(gangadir: str) -> None:
    """GangaDirac's executor answers through an UltraDict whose lock excludes other processes only:
    two answers written at once by its threads (or read at once by ours) can lose one, and its
    caller then waits out the call timeout (so it did here: 1 call of 400).  Every caller gets its answer."""
    from concurrent.futures import ThreadPoolExecutor

    from GangaCore.GPIDev.Base.Proxy import stripProxy
    from GangaDirac.Lib.Server.DiracNewCommands import ping

    from GangaMonitoring.drivers.dirac import DiracCalls, DiracUnavailable

    with dirac_session(gangadir) as (gpi, _component, _grid):
        credential = stripProxy(gpi.Dirac()).credential_requirements
        calls = DiracCalls()
        one_lost = threading.Event()  # once an answer is lost the reader's stream is off: later ones are too

        def one(n: int) -> Any:
            if one_lost.is_set():
                return None
            try:
                return calls.call(ping, {"system": "WorkloadManagement", "service": f"s{n}"}, credential, 10.0)
            except DiracUnavailable as err:
                one_lost.set()
                return err

        try:
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(one, range(400)))
        finally:
            calls.stop_processes()
        lost = [a for a in answers if isinstance(a, Exception)]
        assert not lost and None not in answers, f"{len(lost)} of 400 calls had no answer: {lost[:3]}"
        assert calls.starts == 1


class _Backend:
    broken = False

    def __init__(self, dirac_id: int, broken: bool = False) -> None:
        self.id, self.statusInfo, self.status, self.actualCE, self.extraInfo = dirac_id, "", "Waiting", "", ""
        self.credential_requirements = None
        self.broken = broken

    def __setattr__(self, name: str, value: Any) -> None:
        if self.broken and name == "status":
            raise ValueError("this job's record cannot take the new status")
        object.__setattr__(self, name, value)


def test_one_dirac_job_failing_alone_is_its_trouble_never_diracs(ganga_session: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18: a RuntimeError for one job's failure counted as DIRAC's: five polls opened the breaker."""
    import GangaMonitoring.drivers.dirac as module
    from GangaMonitoring.core.retry import Fault, PollFailed, fault_of

    class Calls:
        def call(self, command: Any, arguments: dict[str, Any], credential: Any, timeout: float) -> Any:
            return [["Application", "Running", "site", "running", ""] for _ in arguments["job_ids"]]

    monkeypatch.setattr(module, "group_jobs_by_backend_credential", lambda jobs: [jobs])
    jobs = [FakeJob(1, _Backend(1)), FakeJob(2, _Backend(2, broken=True))]
    ctx = RecordingContext()
    with pytest.raises(PollFailed, match="1 Dirac job") as raised:
        DiracDriver(Calls()).poll(jobs, ctx)  # type: ignore[arg-type]
    assert fault_of(raised.value) is Fault.JOB  # no breaker counts it
    assert list(ctx.failed) == ["2"] and "cannot take the new status" in ctx.failed["2"] and ctx.fine == ["1"]
    assert jobs[0].changes == ["running"]  # the other job was updated


def test_answer_directories_of_dead_sessions_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    """A session killed before its stop leaves its answers directory; the next one made removes it."""
    import subprocess

    from GangaMonitoring.drivers.dirac import ANSWERS_PREFIX, answers_directory

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        left = tmp_path / f"{ANSWERS_PREFIX}{dead.pid}-abc"
        left.mkdir()
        (left / "7.answer").write_text("{}")
        running = tmp_path / f"{ANSWERS_PREFIX}{alive.pid}-def"
        running.mkdir()
        other = tmp_path / f"{ANSWERS_PREFIX}old-style"
        other.mkdir()
        made = answers_directory(str(tmp_path))
        assert not left.exists()
        assert running.is_dir() and other.is_dir()
        assert Path(made).name.startswith(f"{ANSWERS_PREFIX}{os.getpid()}-") and Path(made).is_dir()
        assert answers_directory(str(tmp_path)) != made and Path(made).is_dir()  # its own process's are kept
    finally:
        alive.kill()
        alive.wait()
