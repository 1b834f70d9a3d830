"""The native driver of Ganga's ``Dirac`` backend (GangaDirac, and GangaLHCb's Dirac, which shares its name).

Stock monitoring finalises each Dirac job as an asyncio task of its own:
it sets ``completing``, asks the DIRAC process for the sandbox and the job's
facts, then ``completed``; every error is logged and swallowed, so a job can
stay ``completing`` until Ganga restarts, and retries sleep on the event
loop.  Here the same work is split into the scheduler's operations:

    POLL      one ``status`` call per credential and chunk of
              ``[DIRAC]numParallelJobs`` jobs, run by GangaDirac's own command in
              its DIRAC executor process; sets the backend fields and the
              running states, hands finished jobs over
    RETRIEVE  (io pool) ``finished_job`` in the DIRAC process: the sandbox is
              downloaded and unpacked there, the CPU time, output-data
              locations, end time and application status come back; they are
              kept in a record file beside the job's output, so a session
              killed before finalising does not fetch them again
    FINALISE  (process pool) an oversized sandbox that DIRAC fetched from grid
              storage is unpacked; then, in Ganga's process, the backend fields,
              the DiracFile locations file and the final state

A failed retrieval is retried with backoff (``[Monitoring]output_retry_for``)
and then marks the job ``failed`` with its reason; ``queues.retry(j)`` tries
again.  The DIRAC processes are GangaDirac's (``AsyncDiracManager``), driven
synchronously from pool threads: no coroutine on the loop, no sleeping task.
"""

from __future__ import annotations

import contextlib
import datetime
import fnmatch
import functools
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from GangaCore.GPIDev.Adapters.IBackend import group_jobs_by_backend_credential
from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.Config import getConfig
from GangaCore.Utility.logging import getLogger

from .. import config
from ..core.retry import BackendUnavailable, DiskFull, JobsFailed, TransientError
from .base import DriverContext, FinishedWork, NativeDriver, apply_each, job_key
from .dirac_answers import answer_to_file, read_answer
from .._files import write_json_atomically
from .outputs import retrieval_record, unpack_dirac_retrieval

log = getLogger("GangaMonitoring.drivers.dirac")

WILDCARD = re.compile(r"[*?\[\]]")
DISK_FULL = re.compile(r"Errno 28|Errno 122|No space left|Disk quota exceeded")
"""How a download DIRAC could not write (its process reports the OSError as text) says the disk is full."""


class DiracUnavailable(BackendUnavailable):
    """DIRAC (or its executor process) did not answer, or answered an error for a whole call."""


class DiracBadAnswer(TransientError):
    """DIRAC answered something other than what the command promises."""


class DiracForgotJob(TransientError):
    """DIRAC has no status for this job (GangaDirac's ``status`` says so): that job's trouble alone."""


NO_STATUS = "Unknown: No status for Job"
"""The DIRAC status GangaDirac's ``status`` command gives a job DIRAC has no status for."""


class SandboxNotRetrieved(TransientError):
    """DIRAC could not give this job's output sandbox (yet): retried, then the job fails with the reason."""


@dataclass(frozen=True)
class _HandedOver:
    """What retrieval needs of a job's backend; GangaObjects stay in this process, so it is kept here."""

    credential: Any
    download_sandbox: bool
    unpack_sandbox: bool


class DiracCalls:
    """Blocking calls of GangaDirac's commands in its DIRAC executor processes, from any thread.

    GangaDirac's ``AsyncDiracManager.execute`` is a coroutine that polls a
    shared dict every 0.3 s on the event loop for the answer.  This puts the
    command on the same process's queue, wrapped so that its answer comes
    back in a file of its own (:mod:`.dirac_answers` says why the shared
    dict can lose answers), and waits in the calling pool thread, with a
    deadline.
    """

    def __init__(self) -> None:
        self._start_lock = threading.Lock()
        self._task_ids = itertools.count()
        self._answers_dir: str | None = None
        self.starts = 0
        """DIRAC processes this driver started (one per environment, again after one died or was stopped)."""

    @staticmethod
    def manager() -> Any:
        from GangaDirac.Lib.Server.DiracProcessManager import AsyncDiracManager

        return AsyncDiracManager()

    def call(self, command: Any, args: dict[str, Any], credential: Any, timeout: float) -> Any:
        manager = self.manager()
        env_hash = self._process_for(manager, credential)
        task_id = next(self._task_ids)
        path = os.path.join(self._answers(), f"{task_id}.answer")
        manager.task_queues[env_hash].put((task_id, functools.partial(answer_to_file, command, path), args))
        results = manager.task_result_dicts[env_hash]
        deadline = time.monotonic() + timeout
        pause = 0.005
        while not os.path.exists(path):
            if results.closed:
                raise DiracUnavailable("the DIRAC process's results are closed (Ganga is stopping)")
            if time.monotonic() > deadline:
                raise DiracUnavailable(f"DIRAC did not answer {command.__name__} within {timeout:.0f}s")
            if not _alive(manager, env_hash):
                raise DiracUnavailable(f"the DIRAC process exited during {command.__name__}; it is started again")
            time.sleep(pause)
            pause = min(2 * pause, 0.1)
        return self._value_of(command.__name__, read_answer(path))

    def _answers(self) -> str:
        """This driver's directory of answer files, made at the first call (see :func:`answers_directory`)."""
        with self._start_lock:
            if self._answers_dir is None:
                self._answers_dir = answers_directory(tempfile.gettempdir())
            return self._answers_dir

    def _process_for(self, manager: Any, credential: Any) -> int:
        """The hash of the DIRAC environment of ``credential``, its process started if needed."""
        env = manager.prepare_process_env(None, credential)
        env_hash = int(manager.hash_dirac_env(env))
        with self._start_lock:
            if not _alive(manager, env_hash):
                manager.active_processes.pop(env_hash, None)
                with _streams_kept():
                    manager.start_dirac_process(env)
                self.starts += 1
                if not _alive(manager, env_hash):
                    raise DiracUnavailable("the DIRAC process could not be started (see the Ganga log)")
        return env_hash

    @staticmethod
    def _value_of(name: str, answer: Any) -> Any:
        if not isinstance(answer, dict) or "OK" not in answer:
            raise DiracBadAnswer(f"{name}: DIRAC answered {str(answer)[:200]!r}, not a result dict")
        if not answer["OK"]:
            raise DiracUnavailable(f"{name}: {answer.get('Message', 'no message')}")
        return answer.get("Value")

    def stop_processes(self, grace: float = 10.0) -> None:
        """Stop the DIRAC executor processes, each within ``grace`` seconds.

        GangaDirac's own ``kill_dirac_processes`` waits for ever for a
        process busy in a hung DIRAC call, and works once per session only
        (processes started after it are never stopped).
        """
        manager = self.manager()
        processes = dict(manager.active_processes)
        for env_hash in processes:
            manager.stop_events[env_hash].set()
        for process in processes.values():
            process.join(grace)
            if process.is_alive():
                log.warning("the DIRAC process %s did not stop within %.0fs: terminating it", process.pid, grace)
                process.terminate()
                process.join(grace)
        for env_hash in processes:
            manager.active_processes.pop(env_hash, None)
        with self._start_lock:
            answers, self._answers_dir = self._answers_dir, None
        if answers is not None:
            shutil.rmtree(answers, ignore_errors=True)  # answers that came after their deadline


ANSWERS_PREFIX = "GangaMonitoring-dirac-answers-"


def answers_directory(base: str) -> str:
    """A new directory of answer files under ``base`` named for this process; others' left by dead processes go.

    A session stopped normally removes its own (:meth:`DiracCalls.stop_processes`); one killed
    (``SIGKILL``, a crash) cannot, so the next session removes the directories whose process is
    gone.  A directory is named ``<prefix><pid>-<random>``; one of another name is left alone.
    """
    for name in os.listdir(base):
        if not name.startswith(ANSWERS_PREFIX):
            continue
        pid = name[len(ANSWERS_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _process_exists(int(pid)):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"{ANSWERS_PREFIX}{os.getpid()}-", dir=base)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _alive(manager: Any, env_hash: int) -> bool:
    """Is the DIRAC process of this environment running?  (A dead one is reaped: stock's pid check sees a zombie.)"""
    process = manager.active_processes.get(env_hash)
    return process is not None and process.is_alive()


@contextlib.contextmanager
def _streams_kept() -> Iterator[None]:
    """GangaDirac's ``DiracProcess.__init__`` points *this* process's stdout/stderr at the Ganga log (debug).

    After the first Dirac poll of a stock session, ``print`` at the prompt
    shows nothing; the streams are put back once the process is started.
    """
    stdout, stderr = sys.stdout, sys.stderr
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr


class DiracDriver(NativeDriver):
    backend = "Dirac"
    unpack = staticmethod(unpack_dirac_retrieval)

    def __init__(self, calls: DiracCalls | None = None) -> None:
        self.calls = calls or DiracCalls()
        self._handed: dict[int, _HandedOver] = {}

    # -- poll ------------------------------------------------------------------------

    def poll(self, jobs: Sequence[Any], ctx: DriverContext, scope: str = "") -> None:
        raw_jobs = [stripProxy(job) for job in jobs]
        unsubmitted = [job for job in raw_jobs if job.backend.id is None]
        for job in unsubmitted:  # a session that crashed mid-submission: DIRAC never had it
            ctx.job_ended(job, "failed", "it has no DIRAC id (its submission was interrupted)")
        known = [job for job in raw_jobs if job.backend.id is not None]
        chunk = max(1, int(getConfig("DIRAC")["numParallelJobs"]))
        failures: list[str] = []
        for group in group_jobs_by_backend_credential(known):
            for start in range(0, len(group), chunk):
                failures += self._poll_chunk(group[start:start + chunk], ctx)
        if failures:
            # one job's trouble, not DIRAC's: no breaker counts it (each job has its grace)
            raise JobsFailed(f"{len(failures)} Dirac job(s) could not be updated: " + "; ".join(failures[:5]))

    def _poll_chunk(self, jobs: list[Any], ctx: DriverContext) -> list[str]:
        from GangaDirac.Lib.Server.DiracNewCommands import status

        config = getConfig("DIRAC")
        answer = self.calls.call(status, {"job_ids": [job.backend.id for job in jobs],
                                          "statusmapping": dict(config["statusmapping"])},
                                 jobs[0].backend.credential_requirements, _call_timeout())
        if not isinstance(answer, list) or len(answer) != len(jobs):
            raise DiracBadAnswer(f"status of {len(jobs)} job(s): DIRAC answered {str(answer)[:200]}")
        finalised = dict(config["finalised_statuses"])
        return apply_each(ctx, zip(jobs, answer, strict=True), lambda job, row: self._apply(job, row, finalised, ctx))

    def _apply(self, job: Any, row: Sequence[Any], finalised: dict[str, str], ctx: DriverContext) -> None:
        """One status row, ``[minor status, DIRAC status, site, Ganga status, application status]``."""
        minor, dirac_status, site, ganga_status, application = (list(row) + [None] * 5)[:5]
        if job.status == "completing":
            return  # handed over by an overlapping poll: retrieval and finalisation own the job
        if dirac_status == NO_STATUS:
            # stock finalises it failed at once; here it has [Monitoring]failing_job_grace (a DIRAC that
            # lost track of it for a while), then it is marked failed with this reason (queues.retry undoes)
            raise DiracForgotJob(f"DIRAC has no status for its job {job.backend.id}")
        backend = job.backend
        # set only what changed: every set marks the job dirty, to be written out by Ganga's flusher
        for name, value in (("statusInfo", minor or ""), ("status", dirac_status), ("actualCE", site),
                            ("extraInfo", application)):
            if getattr(backend, name) != value:
                setattr(backend, name, value)
        if job.master is not None and job.master.status in ("removed", "killed"):
            return  # the user ended the master meanwhile
        if dirac_status in finalised:
            self._handed[backend.id] = _HandedOver(backend.credential_requirements, bool(backend.downloadSandbox),
                                                   bool(backend.unpackOutputSandbox))
            ctx.hand_over(job, FinishedWork(
                job_key=job_key(job), fqid=job.getFQID("."), backend=self.backend, backend_id=backend.id,
                outputdir=job.outputdir, final_status=finalised[dirac_status], detail=str(dirac_status)))
        elif ganga_status in ("submitted", "running") and ganga_status != job.status:
            job.updateStatus(ganga_status, update_master=False)

    # -- retrieve (io pool) -------------------------------------------------------------

    def retrieve(self, work: FinishedWork) -> str:
        """Ask DIRAC for the job's sandbox and facts; returns the record file that keeps them."""
        record = retrieval_record(work)
        if os.path.exists(record):
            if _has_files(work.outputdir):
                log.info("output of job %s was retrieved before Ganga stopped; not fetched again", work.fqid)
                return record
            os.remove(record)  # its files are gone (backend.reset() empties the output dir): fetch again
        handed = self._handed.get(work.backend_id)
        if handed is None:
            raise TransientError(f"job {work.fqid} was handed over by an earlier poll of another session; "
                                 "it is polled again")
        facts = (self._retrieve_completed(work, handed) if work.final_status == "completed"
                 else self._retrieve_failed(work, handed))
        write_json_atomically(record, facts)
        return record

    def _retrieve_completed(self, work: FinishedWork, handed: _HandedOver) -> dict[str, Any]:
        from GangaDirac.Lib.Server.DiracNewCommands import finished_job

        os.makedirs(work.outputdir, exist_ok=True)
        answer = self.calls.call(finished_job, {"id": work.backend_id, "outputDir": work.outputdir,
                                                "unpack": handed.unpack_sandbox,
                                                "downloadSandbox": handed.download_sandbox},
                                 handed.credential, _call_timeout())
        try:
            cpu_time, sandbox, data_info, state_times, application = answer
        except (TypeError, ValueError) as err:
            raise DiracBadAnswer(f"finished_job of job {work.fqid}: unexpected answer {str(answer)[:200]}") from err
        if handed.download_sandbox and not (isinstance(sandbox, dict) and sandbox.get("OK")):
            message = str(sandbox.get("Message") if isinstance(sandbox, dict) else sandbox)
            if DISK_FULL.search(message):
                raise DiskFull(f"no room for the output sandbox of job {work.fqid}: {message}")
            raise SandboxNotRetrieved(f"DIRAC could not give the output sandbox of job {work.fqid}: {message}")
        ended = (state_times or {}).get("completed") if isinstance(state_times, dict) else None
        return {"status": "completed", "cpu_time": cpu_time, "data_info": data_info or {},
                "application_status": application, "ended": _iso(ended),
                "oversized_tarball": _oversized_tarball(sandbox)}

    def _retrieve_failed(self, work: FinishedWork, handed: _HandedOver) -> dict[str, Any]:
        """A failed job's sandbox is fetched if Ganga is told to (``[DIRAC]failed_sandbox_download``), best effort."""
        from GangaDirac.Lib.Server.DiracNewCommands import getOutputSandbox

        fetched = None
        if getConfig("DIRAC")["failed_sandbox_download"] and work.detail != "Killed":
            os.makedirs(work.outputdir, exist_ok=True)
            try:
                self.calls.call(getOutputSandbox, {"id": work.backend_id, "outputDir": work.outputdir,
                                                   "unpack": handed.unpack_sandbox},
                                handed.credential, _call_timeout())
                fetched = True
            except (DiracUnavailable, DiracBadAnswer) as err:
                log.warning("the sandbox of failed job %s could not be downloaded: %s", work.fqid, err)
                fetched = False
        return {"status": "failed", "sandbox_fetched": fetched}

    # -- finish (this process) ---------------------------------------------------------

    def finish(self, job: Any, work: FinishedWork, files: list[str]) -> None:
        record_path = retrieval_record(work)
        with open(record_path, encoding="utf-8") as handle:
            facts = json.load(handle)
        backend = job.backend
        if facts["status"] == "completed":
            if facts.get("cpu_time") is not None:
                backend.normCPUTime = str(facts["cpu_time"])
            if facts.get("application_status"):
                backend.extraInfo = facts["application_status"]
            if facts.get("ended"):
                job.time.timestamps["backend_final"] = datetime.datetime.fromisoformat(facts["ended"])
            write_dirac_file_locations(job, facts.get("data_info") or {})
        job.updateStatus(work.final_status, update_master=False)
        # The record stays (it goes with the job's workspace): Ganga writes the new state to disk up
        # to [Registry]AutoFlusherWaitTime later, and a session killed meanwhile finds the job
        # unfinished again at its restart; the record spares it a second download.
        self._handed.pop(work.backend_id, None)

    def release(self, work: FinishedWork) -> None:
        self._handed.pop(work.backend_id, None)

    def tear_down(self) -> None:
        self.calls.stop_processes()


def write_dirac_file_locations(job: Any, data_info: dict[str, Any]) -> int:
    """Tell the job's DiracFile outputs where DIRAC stored them; returns the number of lines written.

    Ganga's DiracFile reads its LFN, locations and GUID from the job's
    post-process locations file when the job completes: one line per output
    file and matching wildcard, ``DiracFile:::<wildcard>&&<name>-><LFN>:::<locations>:::<GUID>``.
    An entry DIRAC could not upload (no LFN) is written as DIRAC reported it.
    """
    from GangaDirac.Lib.Files.DiracFile import DiracFile

    outputfiles = job.outputfiles
    dirac_files = outputfiles.get(DiracFile) if hasattr(outputfiles, "get") else []
    path = os.path.join(job.getOutputWorkspace().getPath(), getConfig("Output")["PostProcessLocationsFileName"])
    with open(path, "a", encoding="utf-8") as locations:
        if not dirac_files:
            return 0
        if not isinstance(data_info, dict):
            raise DiracBadAnswer(f"job {job.getFQID('.')}: output data information is {str(data_info)[:200]}")
        wildcards = [f.namePattern for f in dirac_files if WILDCARD.search(f.namePattern)]
        written = 0
        for name, info in data_info.items():
            if not isinstance(info, dict):
                raise DiracBadAnswer(f"job {job.getFQID('.')}: no output data information for {name}: {info}")
            name = os.path.basename(name)
            for wildcard in [w for w in wildcards if fnmatch.fnmatch(name, w)] or [""]:
                locations.write(f"DiracFile:::{wildcard}&&{name}->{info.get('LFN', 'Error Getting LFN!')}:::"
                                f"{info.get('LOCATIONS', ['NotAvailable'])}:::{info.get('GUID', 'NotAvailable')}\n")
                written += 1
    return written


def _oversized_tarball(sandbox: Any) -> str | None:
    """DIRAC fetched an oversized sandbox from grid storage: the local tarball it left, to unpack here."""
    if not isinstance(sandbox, dict) or not isinstance(sandbox.get("Value"), dict):
        return None
    fetched = sandbox["Value"].get("Successful") or {}
    return str(next(iter(fetched.values()))) if fetched else None


def _has_files(directory: str) -> bool:
    return os.path.isdir(directory) and any(os.scandir(directory))


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime.datetime) else None


def _call_timeout() -> float:
    return float(config.monitoring_option("call_timeout"))
