"""Session life cycle: config from ini files, repeated enable, recovery of interrupted jobs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from GangaMonitoring.core.planner import POLL
from GangaMonitoring.core.work import OpKey

from .conftest import ganga_options, wait_for

pytestmark = pytest.mark.ganga


INI_CHECK = """
import ganga
from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga
import sys
start_ganga(sys.argv[1], extra_opts=[("Configuration", "RUNTIME_PATH", "GangaTest:GangaMonitoring")])
from GangaMonitoring import config
print("RESULT", config.poll_interval("Slurm"), config.poll_interval("NoSuchBackend"),
      repr(config.monitoring_option("long_queued_after")), repr(config.monitoring_option("backend_concurrency")))
stop_ganga()
"""


def test_options_from_an_ini_file_are_honoured_including_pollthread_slurm(gangadir: str, tmp_path: Path) -> None:
    """Stock Ganga ignores ``[PollThread]Slurm``: it has no such option."""
    ini = tmp_path / "gangarc"
    ini.write_text("# Ganga configuration file ($Name: 8.7.12 $)\n"
                   "[PollThread]\nSlurm = 7\n[Monitoring]\nlong_queued_after = 42\n"
                   "backend_concurrency = {'Dirac': 4}\n")
    env = {**os.environ, "GANGA_CONFIG_FILE": str(ini), "HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", INI_CHECK, gangadir], capture_output=True, text=True,
                         env=env, timeout=120)
    result = [line for line in run.stdout.splitlines() if line.startswith("RESULT")]
    assert result == ["RESULT 7.0 30.0 42.0 {'Dirac': 4}"], run.stdout[-2000:] + run.stderr[-2000:]


def test_enable_many_times_does_not_multiply_polls(ganga_session: Any) -> None:
    """Stock bug (GANGA_NOTES §0.3): each enable() started one more polling chain."""
    from GangaCore.Core import monitoring_component as mc

    j = ganga_session.Job(backend=ganga_session.TestSubmitter(time=600))
    j.submit()
    for _ in range(5):
        mc.disable()
        mc.enable()
    def started():
        return [h for h in mc.runner.history() if h.key == OpKey.poll(POLL, "TestSubmitter") and h.event == "started"]
    assert wait_for(lambda: len(started()) >= 3, timeout=30)
    first, third = started()[0].time, started()[2].time
    assert third - first >= 1.5  # TestSubmitter's interval is 1 s: two gaps, not five chains in parallel


def test_job_interrupted_while_completing_is_monitored_again_and_keeps_its_output(gangadir: str) -> None:
    """Stock's crash cleanup deleted the output dir of such jobs (GANGA_NOTES §3.9)."""
    from GangaCore.GPIDev.Base.Proxy import stripProxy
    from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga

    keep = [("TestingFramework", "AutoCleanup", False)]
    start_ganga(gangadir, extra_opts=ganga_options(keep))
    from GangaCore import GPI
    from GangaCore.Core import monitoring_component

    monitoring_component.disable()
    j = GPI.Job(backend=GPI.TestSubmitter(time=0))
    j.submit()
    stripProxy(j).status = "completing"  # as if the session died mid-finalisation
    marker = Path(j.outputdir) / "already-downloaded.txt"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("good output")
    job_id = j.id
    stop_ganga()

    start_ganga(gangadir, extra_opts=ganga_options())
    try:
        from GangaCore import GPI as GPI2
        from GangaCore.Core import monitoring_component as mc2

        mc2.enable()
        job = GPI2.jobs(job_id)
        assert wait_for(lambda: job.status == "completed", timeout=60), job.status
        assert marker.read_text() == "good output"
    finally:
        stop_ganga()


def test_index_is_kept_from_status_changes_without_registry_scans(ganga_session: Any) -> None:
    """A poll costs O(active jobs): inactive jobs are never looked up (stock: Registry.find per job)."""
    from GangaCore.Core import monitoring_component as mc
    from GangaCore.Core.GangaRepository.Registry import Registry

    for _ in range(20):
        ganga_session.Job(backend=ganga_session.TestSubmitter())  # 'new' jobs: never monitored
    j = ganga_session.Job(backend=ganga_session.TestSubmitter(time=2))
    j.submit()
    assert mc.index.get(j.id) is not None and len(mc.index) == 1
    calls = []
    original = Registry.find
    Registry.find = lambda self, obj: calls.append(obj) or original(self, obj)  # type: ignore[method-assign]
    try:
        assert wait_for(lambda: j.status == "completed", timeout=30)
    finally:
        Registry.find = original  # type: ignore[method-assign]
    assert len(calls) < 20, f"{len(calls)} Registry.find calls while monitoring one job"
    assert len(mc.index) == 0


def test_repeated_sessions_leave_no_monitoring_thread_behind(tmp_path: Path) -> None:
    import threading

    from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga

    for n in range(3):
        start_ganga(str(tmp_path / f"g{n}"), extra_opts=ganga_options())
        from GangaCore.Core import monitoring_component

        monitoring_component.enable()
        gpi = __import__("GangaCore.GPI", fromlist=["Job"])
        job = gpi.Job(backend=gpi.TestSubmitter(time=0))
        job.submit()
        assert gpi.runMonitoring(jobs=job, timeout=30)
        stop_ganga()

    def ours() -> list[str]:
        return [t.name for t in threading.enumerate()
                if t.is_alive() and (t.name.startswith("GangaMon") or t.name.endswith("GangaMonitoring"))]

    assert wait_for(lambda: not ours(), timeout=30), ours()


def test_an_invalid_option_is_refused_at_the_prompt_with_its_range(ganga_session: Any,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Issue 16: io_workers = -1 and first_poll_delay = -5 were taken silently, then clamped silently.
    Refused with a sentence, the value in effect kept; never an exception (Ganga's new-version wizard
    sets the same values again from the user's file, and would end the session on one)."""
    from GangaCore.Utility.Config import ConfigError

    gpi = ganga_session
    for name, value, words in (("io_workers", -1, "an integer of at least 1"),
                               ("first_poll_delay", -5, "a number of at least 0"),
                               ("backend_concurrency", {"Dirac": "many"}, "a dict of backend names to integers")):
        before = getattr(gpi.config.Monitoring, name)
        caplog.clear()
        setattr(gpi.config.Monitoring, name, value)
        assert getattr(gpi.config.Monitoring, name) == before
        assert any(f"[Monitoring]{name} must be {words}" in r.getMessage() and "it keeps its value" in r.getMessage()
                   for r in caplog.records), [r.getMessage() for r in caplog.records]
    before = gpi.config.PollThread.Local
    caplog.clear()
    gpi.config.PollThread.Local = 0  # 0 s between polls: refused, as an interval
    assert gpi.config.PollThread.Local == before
    assert any("[PollThread]Local must be a number of seconds of at least 0.1, not 0: it keeps its value"
               in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    with pytest.raises(ConfigError, match="type mismatch"):  # a wrong type: Ganga's own check says so
        gpi.config.Monitoring.native_drivers = "maybe"
    gpi.config.Monitoring.first_poll_delay = 0.5  # a valid value is taken as before
    from GangaMonitoring import config

    assert config.monitoring_option("first_poll_delay") == 0.5


def test_an_invalid_option_in_an_ini_file_is_named_at_start_and_the_default_used(gangadir: str,
                                                                                 tmp_path: Path) -> None:
    ini = tmp_path / "gangarc"
    ini.write_text("# Ganga configuration file ($Name: 8.7.12 $)\n[Monitoring]\nlong_queued_after = -3\n")
    env = {**os.environ, "GANGA_CONFIG_FILE": str(ini), "HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", INI_CHECK, gangadir], capture_output=True, text=True,
                         env=env, timeout=120)
    assert "RESULT 30.0 30.0 600.0 {}" in run.stdout, run.stdout[-2000:] + run.stderr[-2000:]
    assert "[Monitoring]long_queued_after must be a number of seconds above 0, not -3.0: the default, 600.0, " \
           "is used" in run.stdout + run.stderr
