"""Condor jobs on a fake HTCondor: a job's end seen from its event log, not from a periodic poll of the schedd."""

from __future__ import annotations

import os
from typing import Any

import pytest

from GangaMonitoring.testing import fakecondor

from .conftest import ganga_running, wait_for

pytestmark = pytest.mark.ganga

NO_PERIODIC_CONDOR_POLL = [("PollThread", "Condor", 3600), ("Monitoring", "first_poll_delay", 3600.0)]
"""Condor polled once an hour, new jobs too: only an event of a job's log can see it run and end."""


def component() -> Any:
    from GangaCore.Core import monitoring_component

    return monitoring_component


def sh(script: str) -> list[str]:
    """``sh -c`` arguments for Ganga's Condor wrapper, which joins a program's arguments with blanks unquoted."""
    return ["-c", f"'{script}'"]


def condor_job(gpi: Any, script: str) -> Any:
    return gpi.Job(application=gpi.Executable(exe="/bin/sh", args=sh(script)), backend=gpi.Condor())


def outputs(job: Any) -> dict[str, str]:
    """A job's output files and their text (what a failed assertion shows)."""
    directory = job.outputdir
    return {name: text(os.path.join(directory, name))[-400:]
            for name in sorted(os.listdir(directory)) if os.path.isfile(os.path.join(directory, name))}


def text(path: str) -> str:
    with open(path, errors="replace") as f:
        return f.read()


def last_line(path: str) -> str:
    return text(path).strip().splitlines()[-1]


def test_condor_jobs_end_by_their_event_logs_without_a_query_of_the_schedd(gangadir: str) -> None:
    from GangaMonitoring.patches.condor_answers import installed

    engine = fakecondor.install()
    gate = os.path.join(os.path.dirname(gangadir), os.path.basename(gangadir) + ".gate")
    waits = f"while [ ! -e {gate} ]; do sleep 0.1; done"
    with ganga_running(gangadir, NO_PERIODIC_CONDOR_POLL) as gpi:
        assert installed()
        ok, bad = condor_job(gpi, f"{waits}; echo hello"), condor_job(gpi, f"{waits}; exit 3")
        split = gpi.Job(application=gpi.Executable(exe="/bin/sh"), backend=gpi.Condor(),
                        splitter=gpi.ArgSplitter(args=[sh(f"{waits}; echo part-{n}") for n in range(3)]))
        for job in (ok, bad, split):
            job.submit()
        events = component().file_events
        running = [ok, bad, *split.subjobs]
        # each job's 001 event polls it: 'running' from its log, the schedd asked nothing
        assert wait_for(lambda: all(j.status == "running" for j in running), timeout=120), (
            [j.status for j in running], dict(events.refused), outputs(ok))
        assert {j.backend.status for j in running} == {"Running"}
        with open(gate, "w"):
            pass
        assert wait_for(lambda: all(j.status in ("completed", "failed") for j in [ok, bad, split]), timeout=120), (
            [j.status for j in [ok, bad, split]])
        assert (ok.status, bad.status, split.status) == ("completed", "failed", "completed")
        wanted = {str(ok.id): "completed", str(bad.id): "failed", **{f"{split.id}.{n}": "completed" for n in range(3)}}

        def ended() -> dict[str, str | None]:
            return {fqid: events.ended_by_event.get(fqid) for fqid in wanted}

        # noted by the event's poll after its update returned (the job is final before that, seen from here)
        assert wait_for(lambda: ended() == wanted, timeout=30), ended()
        assert "hello" in text(os.path.join(ok.outputdir, "stdout"))
        assert last_line(os.path.join(split.subjobs[2].outputdir, "stdout")) == "Exit code: 0"
        # the schedd was asked by polls of the backend only (the split master's, when its submission ended),
        # never for an event: the logs answered those updates
        record = component().polling.records.get("Condor")
        assert engine.queries <= (record.polls if record else 0) <= 2, (engine.queries, record)
        assert wait_for(lambda: events.watches() == 0 and len(events.condor) == 0, timeout=30)


def test_a_held_job_is_shown_held_and_a_killed_one_ends(gangadir: str) -> None:
    engine = fakecondor.install()
    with ganga_running(gangadir, NO_PERIODIC_CONDOR_POLL) as gpi:
        held, killed = condor_job(gpi, "sleep 300"), condor_job(gpi, "sleep 300")
        held.submit()
        killed.submit()
        assert wait_for(lambda: held.status == killed.status == "running", timeout=60), (held.status, killed.status)
        cluster, proc = (int(part) for part in held.backend.id.split("."))
        engine.hold(cluster, proc)
        assert wait_for(lambda: held.backend.status == "Held", timeout=60), held.backend.status
        assert held.status == "running"  # Ganga keeps a held job as it was: its backend says Held
        killed.kill()
        assert killed.status == "killed"
        held.kill()
        record = component().polling.records.get("Condor")
        assert engine.queries <= (record.polls if record else 0) and engine.removes == 2


def test_the_same_backend_under_stock_monitoring(gangadir: str) -> None:
    from GangaCore.Core.MonitoringComponent.MonitoringService import AsyncMonitoringService

    engine = fakecondor.install()
    with ganga_running(gangadir, [("Monitoring", "use_stock_monitoring", True), ("PollThread", "Condor", 1)]) as gpi:
        from GangaCore.Core import monitoring_component

        assert type(monitoring_component) is AsyncMonitoringService
        ok, bad = condor_job(gpi, "sleep 1; echo hello"), condor_job(gpi, "exit 3")
        ok.submit()
        bad.submit()
        assert wait_for(lambda: ok.status in ("completed", "failed") and bad.status in ("completed", "failed"),
                        timeout=120), (ok.status, bad.status)
        assert (ok.status, bad.status) == ("completed", "failed")
        assert "hello" in text(os.path.join(ok.outputdir, "stdout"))
        assert engine.queries >= 1  # stock learns of a job's end only from the schedd
