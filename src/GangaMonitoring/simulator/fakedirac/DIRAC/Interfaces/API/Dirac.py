"""DIRAC's user API, answered by the local grid simulator.

Implemented: what Ganga's Dirac backend needs to submit, monitor, kill and
finalise jobs (``submitJob``, ``getJobStatus``, ``getOutputSandbox``,
``getJobParameters``, ``getJobLoggingInfo``, ``killJob``, ``peekJob``).
The simulated grid has no file catalogue, so the data-management calls
(DiracFile) answer a clear error instead.  A job's DIRAC id is its
simulator id.
"""

from __future__ import annotations

import io
import os
import tarfile
import time
from collections.abc import Callable, Iterable
from typing import Any

from GangaMonitoring._tarballs import extract_all

from ... import S_ERROR, S_OK
from ..._grid import SITE_ID_SPAN, grid

LOG_NAME = "Ganga_Executable.log"
MINOR_STATUS = {"Waiting": "Pilot Agent Submission", "Running": "Application", "Done": "Execution Complete",
                "Failed": "Application Finished With Errors", "Killed": "Marked for termination"}


def _answer(call: Callable[[], Any]) -> dict[str, Any]:
    """DIRAC's contract: a result dict, never an exception (Ganga reads the Message)."""
    try:
        return S_OK(call())
    except Exception as err:  # noqa: BLE001 - every failure becomes an S_ERROR
        return S_ERROR(f"simulated DIRAC: {type(err).__name__}: {err}")


def _ids(job_ids: int | Iterable[int]) -> list[int]:
    return [int(job_ids)] if isinstance(job_ids, int | str) else [int(i) for i in job_ids]


def _view_and_client(job_id: int) -> tuple[dict[str, Any], Any, str]:
    """The simulator's view of one DIRAC job, the client of its site, and the site's name."""
    site, client, local = grid().for_job(int(job_id))
    [view] = client.status([local])
    return view, client, site


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


def _name_log_as_dirac_does(directory: str) -> None:
    """A DIRAC job's sandbox holds the executable's log (``Ganga_<app>.log``), not ``stdout``.

    Ganga links ``stdout`` to that log itself after the download.
    """
    stdout = os.path.join(directory, "stdout")
    if os.path.isfile(stdout) and not os.path.islink(stdout):
        os.replace(stdout, os.path.join(directory, LOG_NAME))


def _no_catalogue(*_: Any, **__: Any) -> dict[str, Any]:
    return S_ERROR("the simulated DIRAC has no file catalogue (DiracFile is not supported on SimGrid)")


class Dirac:
    def submitJob(self, job: Any, mode: str = "wms") -> dict[str, Any]:  # noqa: N802 - DIRAC's names
        """One id for a plain job, a list of ids for a parametric one (one per input data set)."""
        count = len(getattr(job, "parametric", []) or [])
        destination = (getattr(job, "parameters", {}).get("Destination") or ((None,), {}))[0]

        def submit() -> int | list[int]:
            number, client = grid().for_site(destination[0] if destination else None)
            ids = [number * SITE_ID_SPAN + local for local in client.submit(max(count, 1))]
            return ids if count else ids[0]

        return _answer(submit)

    def getJobStatus(self, job_ids: int | Iterable[int]) -> dict[str, Any]:  # noqa: N802
        """Status of each job DIRAC knows; unknown ids are left out, as DIRAC leaves them out."""
        def status() -> dict[int, dict[str, Any]]:
            by_site: dict[int, list[int]] = {}
            for job_id in _ids(job_ids):
                by_site.setdefault(job_id // SITE_ID_SPAN, []).append(job_id)
            answer = {}
            for number, site_ids in by_site.items():
                if number >= len(grid().sites):
                    continue
                site, client = grid().sites[number]
                for view in client.status([i % SITE_ID_SPAN for i in site_ids]):
                    answer[number * SITE_ID_SPAN + view["id"]] = {
                        "Status": view["state"], "MinorStatus": MINOR_STATUS.get(view["state"], ""), "Site": site}
            return answer

        return _answer(status)

    def getOutputSandbox(self, job_id: int, outputDir: str | None = None, oversized: bool = True,  # noqa: N802,N803
                         noJobDir: bool = False, unpack: bool = True) -> dict[str, Any]:  # noqa: N803
        """Download the sandbox; unpack it into outputDir (or outputDir/<id> unless noJobDir), as DIRAC does."""
        def download() -> str:
            if grid().settings.get("lost_sandboxes"):
                raise FileNotFoundError(f"the sandbox store has no output sandbox of job {job_id}")
            _site, client, local = grid().for_job(int(job_id))
            data = client.output(local)
            destination = outputDir or os.getcwd()
            if not noJobDir:
                destination = os.path.join(destination, str(job_id))
            os.makedirs(destination, exist_ok=True)
            if unpack:
                with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                    extract_all(tar, destination)
                _name_log_as_dirac_does(destination)
            else:
                with open(os.path.join(destination, f"{job_id}_OutputSandbox.tar.gz"), "wb") as handle:
                    handle.write(data)
            return destination

        return _answer(download)

    def getJobParameters(self, job_id: int) -> dict[str, Any]:  # noqa: N802
        def parameters() -> dict[str, Any]:
            view, _client, site = _view_and_client(job_id)
            used = 0.0
            if view.get("started_at") and view.get("finished_at"):
                used = float(view["finished_at"]) - float(view["started_at"])
            return {"NormCPUTime(s)": f"{used:.1f}", "TotalCPUTime(s)": f"{used:.1f}", "Site": site,
                    "HostName": "wn.simgrid.local"}

        return _answer(parameters)

    def getJobLoggingInfo(self, job_id: int) -> dict[str, Any]:  # noqa: N802
        """(Status, MinorStatus, ApplicationStatus, UTC time, source) rows, as DIRAC's job logging."""
        def logging_info() -> list[tuple[str, str, str, str, str]]:
            view = _view_and_client(job_id)[0]
            rows = [("Received", "Job accepted", "Unknown", _utc(view["submitted_at"]), "JobManager")]
            if view.get("started_at"):
                rows.append(("Running", "Application", "Unknown", _utc(view["started_at"]), "JobWrapper"))
            if view.get("finished_at"):
                rows.append(("Completed", "Application Finished", "Unknown", _utc(view["finished_at"]),
                             "JobWrapper"))
                rows.append((view["state"], MINOR_STATUS.get(view["state"], ""), "Unknown",
                             _utc(view["finished_at"]), "JobWrapper"))
            return rows

        return _answer(logging_info)

    def getJobCPUTime(self, job_id: int) -> dict[str, Any]:  # noqa: N802
        answer = self.getJobParameters(job_id)
        if not answer["OK"]:
            return answer
        return S_OK({"CPU(s)": answer["Value"]["TotalCPUTime(s)"]})

    def killJob(self, job_ids: int | Iterable[int]) -> dict[str, Any]:  # noqa: N802
        def kill() -> list[int]:
            killed = []
            for job_id in _ids(job_ids):
                _site, client, local = grid().for_job(job_id)
                killed += [job_id for _ in client.kill([local])]
            return killed

        return _answer(kill)

    def deleteJob(self, job_ids: int | Iterable[int]) -> dict[str, Any]:  # noqa: N802
        return self.killJob(job_ids)

    def peekJob(self, job_id: int) -> dict[str, Any]:  # noqa: N802
        def peek() -> str:
            view, client, _site = _view_and_client(job_id)
            if view["state"] in ("Waiting", "Running"):
                return f"job {job_id} is {view['state']}: its standard output is available when it ends"
            with tarfile.open(fileobj=io.BytesIO(client.output(int(job_id) % SITE_ID_SPAN))) as tar:
                member = tar.extractfile("stdout")
                return member.read().decode() if member else ""

        return _answer(peek)

    def ping(self, system: str, service: str) -> dict[str, Any]:
        return _answer(lambda: {"alive": grid().sites[0][1].healthy()})

    def reschedule(self, job_ids: int | Iterable[int]) -> dict[str, Any]:
        return S_ERROR("the simulated DIRAC cannot reschedule jobs: resubmit them from Ganga")

    def selectJobs(self, **_: Any) -> dict[str, Any]:  # noqa: N802
        return S_ERROR("the simulated DIRAC keeps no job groups")

    getJobOutputData = getFile = removeFile = getLfnMetadata = getReplicas = _no_catalogue
    getReplicasForJobs = getAccessURL = replicateFile = removeReplica = addFile = _no_catalogue
    getInputDataCatalog = splitInputData = checkSEAccess = _no_catalogue
