"""Test plugins: backends that behave as real ones do where GangaTest's have no such behaviour.

- ``GridTicket`` stands in for a grid proxy: a file (``GM_TICKET_FILE``) that
  holds its expiry time in epoch seconds.  ``TicketSubmitter`` is GangaTest's
  ``TestSubmitter`` whose jobs require that ticket, as Dirac's jobs require a
  ``DiracProxy`` (the credential check's tests).
- ``RecordingSubmitter`` is ``TestSubmitter`` whose updates are recorded
  (``UPDATES``: each call's jobs, how many ran at once, any job updated by
  two calls at once) and can be held at a barrier (the fan-out's tests); the
  submission of the subjobs numbered in ``SUBMIT_FAILS_AT`` fails.
- ``ForgetfulSubmitter`` finalises as Dirac does — a finished job goes
  ``completing`` and the backend's own finalisation takes it on — but the
  first finalisation of every job is lost, as Dirac's is when its task fails
  (the lost-finalisation check's tests).

Importing this module registers them as Ganga plugins.
"""

from __future__ import annotations

import datetime
import os
import threading
import time
from collections import Counter
from typing import Any

from GangaCore.GPIDev.Adapters.ApplicationRuntimeHandlers import allHandlers
from GangaCore.GPIDev.Adapters.ICredentialInfo import ICredentialInfo
from GangaCore.GPIDev.Adapters.ICredentialRequirement import ICredentialRequirement
from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.GPIDev.Lib.Job.Job import JobError
from GangaCore.GPIDev.Schema import ComponentItem, SimpleItem
from GangaCore.Lib.Executable import RTHandler
from GangaTest.Lib.TestSubmitter.TestSubmitter import TestSubmitter

TICKET_LIFETIME = 3600


def set_attributes(backend: Any, values: dict[str, Any]) -> None:
    """What a GPI constructor does with keyword arguments, for these raw plugin objects."""
    for name, value in values.items():
        setattr(backend, name, value)


def ticket_file() -> str:
    return os.environ["GM_TICKET_FILE"]


def write_ticket(expires_in: float) -> None:
    """(Re)write the ticket so that it expires ``expires_in`` seconds from now (negative: expired)."""
    with open(ticket_file(), "w") as handle:
        handle.write(str(time.time() + expires_in))


class GridTicketInfo(ICredentialInfo):
    __slots__ = ()

    def default_location(self) -> str:
        return ticket_file()

    def create(self) -> None:
        write_ticket(TICKET_LIFETIME)

    def expiry_time(self) -> datetime.datetime:
        with open(self.location) as handle:
            return datetime.datetime.fromtimestamp(float(handle.read()))


class GridTicket(ICredentialRequirement):
    _schema = ICredentialRequirement._schema.inherit_copy()
    _category = "CredentialRequirement"
    _name = "GridTicket"
    info_class = GridTicketInfo
    __slots__ = ()

    def encoded(self) -> str:
        return ""


class TicketSubmitter(TestSubmitter):
    _schema = TestSubmitter._schema.inherit_copy()
    _schema.datadict["credential_requirements"] = ComponentItem("CredentialRequirement", defvalue="GridTicket")
    _category = "backends"
    _name = "TicketSubmitter"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        set_attributes(self, kwargs)


LOST_FINALISATIONS: set[str] = set()
"""FQIDs of the jobs whose first finalisation ForgetfulSubmitter lost."""


class ForgetfulSubmitter(TestSubmitter):
    _schema = TestSubmitter._schema.inherit_copy()
    _category = "backends"
    _name = "ForgetfulSubmitter"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        set_attributes(self, kwargs)

    @staticmethod
    def updateMonitoringInformation(jobs: Any) -> None:  # noqa: N802 - Ganga's name
        for job in jobs:
            raw = stripProxy(job)
            if raw.status == "submitted":
                raw.updateStatus("running")
            if raw.status != "running" or raw.backend.remaining() > 0:
                continue
            raw.updateStatus("completing")
            fqid = raw.getFQID(".")
            if fqid in LOST_FINALISATIONS:
                raw.updateStatus("completed")  # finalised this time
            else:
                LOST_FINALISATIONS.add(fqid)  # the finalisation is lost: the job stays completing


class UpdateRecorder:
    """What RecordingSubmitter's updates did (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self, gate: threading.Barrier | None = None, gated_calls: int = 0,
              error: Exception | None = None) -> None:
        """Forget everything; the first ``gated_calls`` calls meet at ``gate`` before they update;
        with ``error``, every call raises it (a backend whose service is down)."""
        with self._lock:
            self.error = error
            self.calls: list[list[str]] = []
            self.active: Counter[str] = Counter()
            self.running = self.most_at_once = 0
            self.overlapping: list[str] = []
            self.gate, self.gated_calls = gate, gated_calls

    def enter(self, fqids: list[str]) -> threading.Barrier | None:
        with self._lock:
            self.calls.append(fqids)
            self.overlapping += [f for f in fqids if self.active[f]]
            self.active.update(fqids)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            gated = self.gated_calls > 0
            self.gated_calls -= 1
            return self.gate if gated else None

    def leave(self, fqids: list[str]) -> None:
        with self._lock:
            self.active.subtract(fqids)
            self.running -= 1


UPDATES = UpdateRecorder()
SUBMIT_FAILS_AT: list[int] = []
"""Subjob numbers whose ``submit()`` raises under RecordingSubmitter (a submission that fails half-way)."""
SUBMIT_GATE = threading.Event()
"""Set (open) unless a test holds RecordingSubmitter's submissions between Ganga's two 'submitted'."""
SUBMIT_GATE.set()


class RecordingSubmitter(TestSubmitter):
    _schema = TestSubmitter._schema.inherit_copy()
    _schema.datadict["queued"] = SimpleItem(defvalue=0, doc="Seconds the job stays submitted before it runs")
    _category = "backends"
    _name = "RecordingSubmitter"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        set_attributes(self, kwargs)

    def submit(self, jobconfig: Any, masterjobconfig: Any) -> Any:
        """TestSubmitter's, but a subjob named in ``SUBMIT_FAILS_AT`` fails to submit."""
        job = self.getJobObject()
        if job.master is not None and job.id in SUBMIT_FAILS_AT:
            raise JobError(f"test: the submission of subjob {job.getFQID('.')} fails")
        return TestSubmitter.submit(self, jobconfig, masterjobconfig)

    def master_submit(self, *args: Any, **kwargs: Any) -> Any:
        """Ganga's, then wait at ``SUBMIT_GATE`` if a test closed it (the job is ``submitted`` by then)."""
        result = TestSubmitter.master_submit(self, *args, **kwargs)
        SUBMIT_GATE.wait(60)
        return result

    @staticmethod
    def updateMonitoringInformation(jobs: Any) -> None:  # noqa: N802 - Ganga's name
        fqids = [stripProxy(j).getFQID(".") for j in jobs]
        gate = UPDATES.enter(fqids)
        try:
            if gate is not None:
                gate.wait()  # a broken barrier raises: the test sees updates that never met
            if UPDATES.error is not None:
                raise UPDATES.error
            TestSubmitter.updateMonitoringInformation(
                [j for j in jobs if time.time() - stripProxy(j).backend.start_time >= stripProxy(j).backend.queued])
        finally:
            UPDATES.leave(fqids)


for backend in ("TicketSubmitter", "ForgetfulSubmitter", "RecordingSubmitter"):
    allHandlers.add("Executable", backend, RTHandler)
