"""``SimGrid``: a Ganga backend whose jobs run on the local grid simulator.

Used from the prompt like ``Dirac()``::

    j = Job(backend=SimGrid(), splitter=ArgSplitter(args=[[str(i)] for i in range(10000)]))
    j.submit()          # one bulk request for all subjobs

Its monitoring works both through the stock entry point
(``updateMonitoringInformation``: status, output download and unpacking,
state change, all in one call, as Ganga's own backends do) so stock Ganga
can monitor it, and through GangaMonitoring's native driver
(``drivers.simgrid``), which splits those steps into scheduled operations.
The grid's own record of when each job finished (``backend.finished_at``,
seconds since the epoch) is what lag is measured against.

Each submission names its job on the grid with a fresh token
(``backend.token``), and every answer about a job is checked against it
(:func:`check_answer`): an answer about another job (a grid that reused
the id) is that job's error, never applied, so a job is never completed
with another job's output.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
import uuid
from typing import Any
from collections.abc import Iterable

from GangaCore.GPIDev.Adapters.ApplicationRuntimeHandlers import allHandlers
from GangaCore.GPIDev.Adapters.IBackend import IBackend
from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Core.exceptions import BackendError
from GangaCore.GPIDev.Lib.Job.Job import JobError
from GangaCore.GPIDev.Schema import Schema, SimpleItem, Version
from GangaCore.Lib.Executable import RTHandler
from GangaCore.Utility.Config import getConfig
from GangaCore.Utility.logging import getLogger

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from .. import service_events
from ..core.retry import is_transient
from ..drivers.outputs import unpack_tarball
from ..simulator.client import SimGridClient, SimGridError, SimGridUnavailable

log = getLogger("GangaMonitoring.SimGrid")

GRID_TO_GANGA = {"Waiting": "submitted", "Running": "running", "Done": "completed",
                 "Failed": "failed", "Killed": "killed"}
"""Ganga's status for each state the simulated grid reports."""

_clients: dict[str, SimGridClient] = {}


def client_for(server: str) -> SimGridClient:
    """One client per server URL, shared by every thread (it keeps a session per thread)."""
    config = getConfig("SimGrid")
    url = server or config["server"]
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = SimGridClient(url, timeout=float(config["timeout"]),
                                               max_batch=int(config["max_batch"]),
                                               on_retry=functools.partial(service_events.retried, "SimGrid"))
    return client


class SimGrid(IBackend):
    """A backend on the local grid simulator (see ``ganga-monitoring simgrid``)."""

    _schema = Schema(Version(1, 0), {
        "server": SimpleItem(defvalue="", doc="URL of the simulator; empty: [SimGrid]server"),
        "id": SimpleItem(defvalue=-1, protected=1, copyable=0, doc="Job id on the simulated grid"),
        "token": SimpleItem(defvalue="", protected=1, copyable=0,
                            doc="The name this submission gave the job on the grid (empty: none): an answer "
                                "about a job of another name is refused"),
        "status": SimpleItem(defvalue="", protected=1, copyable=0, doc="State the grid last reported"),
        "finished_at": SimpleItem(defvalue=0.0, protected=1, copyable=0,
                                  doc="When the grid says the job ended (seconds since the epoch)"),
    })
    _category = "backends"
    _name = "SimGrid"
    _exportmethods = ["peek", "getOutput"]

    # -- submission --------------------------------------------------------------

    def master_submit(self, rjobs: list[Any], subjobconfigs: Any, masterjobconfig: Any,
                      keep_going: bool = False, parallel_submit: bool = False) -> int:
        """Submit every (sub)job in one request: the grid takes bulk submissions."""
        # update_master=False: each subjob's change would otherwise recount
        # every subjob of the master (O(n^2): minutes at 10k subjobs); Ganga's
        # submit() sets the master's status once at the end.
        jobs = [stripProxy(j) for j in rjobs]
        for job in jobs:
            job.updateStatus("submitting", update_master=False)
        tokens = [new_token() for _ in jobs]
        try:
            ids = submit_with_retries(client_for(self.server), len(jobs), tokens)
            if len(ids) != len(jobs):
                raise JobError(f"the grid returned {len(ids)} ids for {len(jobs)} jobs")
        except Exception as err:
            for job in jobs:
                job.updateStatus("new", update_master=False)
            raise JobError(f"SimGrid submission of {len(jobs)} job(s) failed: {err}{_hint(err)}") from err
        for job, grid_id, token in zip(jobs, ids, tokens, strict=True):
            backend = stripProxy(job.backend)
            backend.id = grid_id
            backend.token = token
            backend.status = "Waiting"
            job.updateStatus("submitted", update_master=False)
            stripProxy(job.info).increment()
        return 1

    def submit(self, subjobconfig: Any, master_input_sandbox: Any) -> int:
        token = new_token()
        [self.id] = submit_with_retries(client_for(self.server), 1, [token])
        self.token = token
        self.status = "Waiting"
        return 1

    def resubmit(self) -> int:
        return self.submit(None, None)

    def kill(self) -> bool:
        if self.id < 0:
            return True
        try:
            _, unknown = client_for(self.server).kill_report([self.id])
        except SimGridError as err:
            raise BackendError("SimGrid", f"could not kill job {self.getJobObject().getFQID('.')}: {err}") from err
        if unknown:
            log.warning("the grid does not know job %s (grid id %d): it is gone from the grid; marked killed",
                        self.getJobObject().getFQID("."), self.id)
        return True

    def peek(self, filename: str = "", command: str = "") -> None:
        """Show a file of the job's (downloaded) output, or list the output directory."""
        job = self.getJobObject()
        job.viewFile(path=os.path.join(job.outputdir, filename).rstrip(os.sep), command=command)

    def getOutput(self) -> list[str]:  # noqa: N802 - Ganga's naming, as Dirac's getOutputSandbox
        """Download the job's output sandbox again into its output directory; returns the files.

        Before the job is final there is nothing to download yet: monitoring
        fetches it as soon as the grid has it (and, asked this way, first).
        """
        job = self.getJobObject()
        if job.status not in ("completed", "failed"):
            log.info("job %s is %s: its output is retrieved when it finishes", job.getFQID("."), job.status)
            return []
        client = client_for(self.server)
        views, _unknown = client.status_report([self.id])
        if not views:
            raise JobError(f"the grid at {client.url} does not know job {job.getFQID('.')} (grid id {self.id}): "
                           "its output is gone")
        check_answer(job, views[0], client.url)
        return retrieve_output(client, self.id, job.outputdir)

    # -- monitoring (the stock path) ---------------------------------------------

    @staticmethod
    def updateMonitoringInformation(jobs: Iterable[Any]) -> None:  # noqa: N802 - Ganga's name
        """Poll, download, unpack and set the state of ``jobs``, as stock Ganga expects."""
        by_server: dict[str, list[Any]] = {}
        for job in jobs:
            by_server.setdefault(stripProxy(job).backend.server, []).append(stripProxy(job))
        lost: list[str] = []
        wrong: list[str] = []
        for server, server_jobs in by_server.items():
            client = client_for(server)
            answered, unknown = client.status_report(j.backend.id for j in server_jobs)
            views = {v["id"]: v for v in answered}
            for job in server_jobs:
                view = views.get(job.backend.id)
                if view is None:
                    continue
                try:
                    apply_view(job, view, client)
                except AnswerForAnotherJob as err:
                    wrong.append(str(err))
            lost += [f"{j.getFQID('.')} (grid id {j.backend.id})" for j in server_jobs if j.backend.id in set(unknown)]
        # after the others were updated: the caller learns which jobs the grid forgot or mistook
        problems = ([f"the grid does not know job(s) {', '.join(lost[:10])}"] if lost else []) + wrong[:10]
        if problems:
            raise JobError("; ".join(problems))


def _hint(error: BaseException) -> str:
    """What to do when the simulator cannot be reached at all."""
    if isinstance(error, SimGridUnavailable) and "cannot connect" in str(error):
        return ("; is the simulator running? Start it with `ganga-monitoring simgrid` (it listens on "
                "127.0.0.1:8650, [SimGrid]server), or point config.SimGrid.server at yours")
    return ""


class AnswerForAnotherJob(JobError):
    """The grid answered, for a job's grid id, about a job of another name: it is not this job's answer."""


def new_token() -> str:
    """A name for one submission of one job on the grid (unique: a random UUID)."""
    return uuid.uuid4().hex


def check_answer(job: Any, view: dict[str, Any], server: str = "") -> None:
    """Raise :class:`AnswerForAnotherJob` unless ``view`` is about ``job`` (its name is the job's token).

    A job submitted without a token (before tokens existed) has nothing to check against.
    """
    token = getattr(job.backend, "token", "")
    if not token or view.get("name") == token:
        return
    where = f"the grid at {server}" if server else "the grid"
    raise AnswerForAnotherJob(
        f"{where} answered for job {job.getFQID('.')} (grid id {job.backend.id}) about another job "
        f"(named {view.get('name')!r}, not {token!r}): the grid gave this id to a new job (restarted?); "
        "nothing of that answer is applied, and this job's own state on the grid is unknown")


def transition_for(job: Any, view: dict[str, Any], server: str = "") -> str | None:
    """Record the grid's state on the backend; return the Ganga state the job must move to, if any.

    An answer about another job raises :class:`AnswerForAnotherJob` and records nothing.
    """
    check_answer(job, view, server)
    backend = job.backend
    if backend.status != view["state"]:
        backend.status = view["state"]
    target = GRID_TO_GANGA.get(view["state"])
    if target is None:
        raise JobError(f"SimGrid reported an unknown state {view['state']!r} for job {job.getFQID('.')}")
    if target == job.status or target == "submitted":
        return None
    return target


def apply_view(job: Any, view: dict[str, Any], client: SimGridClient) -> None:
    """Bring one job up to date with what the grid reported (downloading output when it ended)."""
    target = transition_for(job, view, client.url)
    if target is None:
        return
    backend = job.backend
    if target in ("completed", "failed"):
        retrieve_output(client, backend.id, job.outputdir)
    if view.get("finished_at"):
        backend.finished_at = float(view["finished_at"])
    job.updateStatus(target)


def submit_with_retries(client: SimGridClient, count: int, names: list[str] | None = None,
                        attempts: int = 5) -> list[int]:
    """Submit ``count`` jobs (named ``names``), retrying transient errors (the user's submit waits, briefly).

    Safe to repeat: the simulator refuses a request (5xx, outage) before it
    creates anything.  A grid that may fail after creating jobs would need an
    idempotency key instead.
    """
    retrying = Retrying(stop=stop_after_attempt(attempts), wait=wait_exponential_jitter(initial=0.2, max=2.0),
                        retry=retry_if_exception(is_transient), reraise=True)
    return retrying(client.submit, count, names)


def sandbox_path(outputdir: str, grid_id: int) -> str:
    """Where a job's downloaded output tarball lies until it is unpacked."""
    return os.path.join(outputdir, f".sandbox-{grid_id}.tar.gz")


def download_output(client: SimGridClient, grid_id: int, outputdir: str, final: str | None = None) -> str:
    """Download a job's output sandbox into ``outputdir``; returns the tarball's path.

    It is written under a ``.part`` name unique to this call and renamed to
    ``final`` (default :func:`sandbox_path`) when complete, so a crash never
    leaves half a tarball under the final name, and two downloads of the same
    job at once (stock monitoring starts overlapping updates) never write
    into each other's file.
    """
    data = client.output(grid_id)
    os.makedirs(outputdir, exist_ok=True)
    final = final or sandbox_path(outputdir, grid_id)
    partial = f"{final}.{os.getpid()}-{threading.get_ident()}.part"
    try:
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:  # a full disk above all: give back the space of the half-written file
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise
    os.replace(partial, final)
    _remove_leftovers_of_other_sessions(outputdir, grid_id)
    return final


def _remove_leftovers_of_other_sessions(outputdir: str, grid_id: int) -> None:
    """Remove what a session killed mid-download left of this job's output: files whose names carry its pid.

    Only one session works on a job at a time (Ganga's session locks), so
    a pid other than ours in such a name is a dead session's.
    """
    pattern = re.compile(rf"^\.sandbox-{grid_id}"
                         r"(?:\.tar\.gz\.(\d+)-\d+\.part|-(\d+)-\d+\.tar\.gz(?:\.\d+-\d+\.part)?)$")
    for name in os.listdir(outputdir):
        match = pattern.match(name)
        if match and int(match.group(1) or match.group(2)) != os.getpid():
            log.info("removing %s, left in %s by a session that stopped while downloading it", name, outputdir)
            with contextlib.suppress(OSError):
                os.remove(os.path.join(outputdir, name))


def retrieve_output(client: SimGridClient, grid_id: int, outputdir: str) -> list[str]:
    """Download and unpack a job's output sandbox into ``outputdir`` (the stock path does both at once).

    The tarball has a name of its own for this call: overlapping stock
    updates of the same job each unpack their own copy (same files) and
    remove only their own.
    """
    own = os.path.join(outputdir, f".sandbox-{grid_id}-{os.getpid()}-{threading.get_ident()}.tar.gz")
    return unpack_tarball(download_output(client, grid_id, outputdir, final=own), outputdir)


allHandlers.add("Executable", "SimGrid", RTHandler)
