"""The job wrapper the Batch backends submit ends with its program (patches item 19).

The wrapper is made by Ganga itself (the Slurm backend's ``preparejob``, from
the job's real runtime handler) and run here with python against a fake
child that ends when the test says so; no batch system is involved.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from GangaMonitoring.patches import batch_wrapper

from .conftest import wait_for

pytestmark = pytest.mark.ganga


def wrapper_script(gpi: Any, program: str) -> tuple[Any, Path]:
    """A Slurm job of ``/bin/bash -c program`` and the wrapper script Ganga writes for it (not submitted)."""
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    proxy = gpi.Job(application=gpi.Executable(exe="/bin/bash", args=["-c", program]), backend=gpi.Slurm())
    proxy.prepare()
    job = stripProxy(proxy)
    app_master = job.application.master_configure()[1]
    app_sub = job.application.configure(app_master)[1]
    handler = job._getRuntimeHandler()
    job_master = handler.master_prepare(job.application, app_master)
    job_sub = handler.prepare(job.application, app_sub, app_master, job_master)
    return proxy, Path(job.backend.preparejob(job_sub, job.backend.master_prepare(job_master)))


def held_program(release: Path) -> str:
    """A program that writes to stdout and stderr, waits until ``release`` exists, then exits 3."""
    return f"echo to-stdout; echo to-stderr >&2; until [ -e {release} ]; do sleep 0.05; done; exit 3"


def run_wrapper(script: Path, workdir: Path) -> tuple[subprocess.Popen[bytes], Path, Path]:
    workdir.mkdir()
    stdout, stderr = workdir / "wrapper.out", workdir / "wrapper.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        wrapper = subprocess.Popen([sys.executable, str(script)], cwd=workdir, stdout=out, stderr=err)
    return wrapper, stdout, stderr


def dots(heartbeat: Path) -> int:
    try:
        return heartbeat.read_text().count(".")
    except FileNotFoundError:
        return 0


@pytest.mark.parametrize("ganga_session", [[("Slurm", "heartbeat_frequency", "1")]], indirect=True)
def test_the_wrapper_touches_the_heartbeat_while_its_program_runs_and_reports_it_as_ganga_does(
        ganga_session: Any, tmp_path: Path) -> None:
    release = tmp_path / "release"
    job, script = wrapper_script(ganga_session, held_program(release))
    assert batch_wrapper.MARK in script.read_text()
    wrapper, stdout, stderr = run_wrapper(script, tmp_path / "work")
    heartbeat = Path(job.outputdir, "__heartbeat__")
    try:
        assert wait_for(lambda: dots(heartbeat) >= 3, timeout=60), dots(heartbeat)  # one a second, child held
        assert wrapper.poll() is None
        release.touch()
        assert wrapper.wait(timeout=60) == 3
    finally:
        release.touch()
        wrapper.wait(timeout=60)
    status = Path(job.outputdir, "__jobstatus__").read_text().splitlines()
    # no PID/QUEUE/ACTUALCE lines: run outside Slurm, SLURM_JOB_ID is not set (Ganga's wrapper then skips them)
    assert [line.split(":")[0] for line in status] == ["START", "EXITCODE", "STOP"], status
    assert "EXITCODE: 3" in status
    assert not heartbeat.exists()  # removed at the end, as Ganga's wrapper does
    out = stdout.read_text().splitlines()
    assert out[0] == "--- GANGA APPLICATION OUTPUT BEGIN ---" and "to-stdout" in out, out
    assert out.index("to-stdout") < out.index("--- GANGA APPLICATION OUTPUT END ---"), out
    err = stderr.read_text().splitlines()
    assert err[0] == "--- GANGA APPLICATION ERROR BEGIN ---" and err[-1] == "--- GANGA APPLICATION ERROR END ---", err
    assert "to-stderr" in err


@pytest.mark.parametrize("ganga_session", [[("Slurm", "heartbeat_frequency", "3600")]], indirect=True)
def test_the_wrapper_ends_when_its_program_ends_not_a_heartbeat_later(ganga_session: Any, tmp_path: Path) -> None:
    """Ganga's own wrapper sleeps a whole heartbeat (here an hour) before it looks at its program again."""
    release = tmp_path / "release"
    job, script = wrapper_script(ganga_session, held_program(release))
    wrapper, _stdout, _stderr = run_wrapper(script, tmp_path / "work")
    heartbeat = Path(job.outputdir, "__heartbeat__")
    try:
        assert wait_for(lambda: dots(heartbeat) == 1, timeout=60)  # the first heartbeat: the wrapper now waits
        release.touch()
        assert wrapper.wait(timeout=120) == 3  # an hour with Ganga's wrapper
    finally:
        release.touch()
        if wrapper.poll() is None:
            wrapper.kill()
            wrapper.wait()
    assert "EXITCODE: 3" in Path(job.outputdir, "__jobstatus__").read_text()


def test_a_template_of_another_shape_is_refused_with_the_reason() -> None:
    template = batch_wrapper.template_path()
    stock = Path(template).read_text()
    assert batch_wrapper.MARK in batch_wrapper.waiting_wrapper(stock)
    without_sleep = stock.replace("time.sleep(###HEARTBEATFREQUENCE###)", "time.sleep(1)")
    with pytest.raises(batch_wrapper.UnexpectedTemplate, match="is there 0 times, not once"):
        batch_wrapper.waiting_wrapper(without_sleep)
    without_import = stock.replace("import subprocess\n", "")
    with pytest.raises(batch_wrapper.UnexpectedTemplate, match="subprocess is not imported"):
        batch_wrapper.waiting_wrapper(without_import)


def test_the_patch_is_undone_at_stop_and_other_scripts_are_loaded_as_read(gangadir: str) -> None:
    from GangaCore.GPIDev.Lib.File import FileUtils
    from GangaCore.testlib.GangaUnitTest import start_ganga, stop_ganga

    from .conftest import ganga_options

    stock = FileUtils.loadScript
    start_ganga(gangadir, extra_opts=ganga_options())
    try:
        assert getattr(FileUtils.loadScript, "__gm_wrapped__", False)
        local = os.path.join(os.path.dirname(batch_wrapper.template_path()), os.pardir, "Localhost",
                             "LocalHostExec.py.template")
        assert FileUtils.loadScript(local, "") == stock(local, "")
        assert batch_wrapper.MARK in FileUtils.loadScript(batch_wrapper.template_path(), "")
    finally:
        stop_ganga()
    assert FileUtils.loadScript is stock
    assert batch_wrapper.MARK not in FileUtils.loadScript(batch_wrapper.template_path(), "")


def test_a_template_not_of_the_expected_shape_is_not_patched_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from GangaCore.GPIDev.Lib.File import FileUtils

    other = tmp_path / batch_wrapper.TEMPLATE_NAME
    other.write_text(Path(batch_wrapper.template_path()).read_text().replace("while 1:", "while True:"))
    monkeypatch.setattr(batch_wrapper, "template_path", lambda: str(other))
    stock = FileUtils.loadScript
    with caplog.at_level("WARNING", logger="GangaMonitoring.patches"):
        assert not batch_wrapper.wrapper_ends_with_program()
    assert FileUtils.loadScript is stock  # nothing installed: Ganga's wrapper is submitted
    [warning] = [r.getMessage() for r in caplog.records if r.name == "GangaMonitoring.patches"]
    assert "does not have the shape GangaMonitoring expects" in warning and "is there 0 times" in warning
    # a template that changes shape once installed is passed through as read, with the same warning
    caplog.clear()
    load = batch_wrapper._loading_waiting_wrapper(stock, os.path.realpath(other))
    with caplog.at_level("WARNING", logger="GangaMonitoring.patches"):
        assert load(str(other), "") == other.read_text()
    assert any("does not have the shape" in r.getMessage() for r in caplog.records)
