"""Condor jobs' event logs, read as they grow: which events ask for a poll, and the schedd's answer they make.

Ganga's Condor backend asks HTCondor to write each job's event log as
``condorLog`` in the job's output directory (``log = condorLog``, relative to
``initialdir``).  File events watch that directory as they do a Batch job's
(``integration/file_events.py``); each change of the log is read from where the
last read stopped (``core/condor_log.py``), and an event that moves the job
(it runs, ends, is aborted, held, released or evicted) asks for a poll of that
job through Ganga's own ``Condor.updateMonitoringInformation``.  That poll's
schedd query is answered from the logs (:meth:`CondorLogs.answers`, patches
item 23): rows for the jobs still queued by their logs, none for those that
ended, which Ganga then finishes as it does a job that left the queue (the
log says terminated or aborted, the exit code from ``stdout``).

Contract: a job is tracked from its watch to its unwatch (:meth:`forget`);
each read takes only what the file gained (a file replaced or shortened is
read again); a job whose log says nothing of its current ``backend.id`` is
not answered for (left to its backend's periodic polls).  Thread-safe: reads
come from the watcher's thread and from polls.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Hashable, Sequence
from typing import Any

from ..core.condor_log import (ABORTED, EVICTED, EXECUTE, HELD, RELEASED, TERMINATED, CondorEvent, JobState, LogCursor,
                               fold, read_new)

CONDOR_LOG = "condorLog"
"""The event log's name in a Condor job's output directory (Ganga's ``log`` submit option)."""

MOVING = frozenset({EXECUTE, EVICTED, TERMINATED, ABORTED, HELD, RELEASED})
"""Event codes after which Ganga's update of the job changes something (its status or its backend's)."""

BACKEND = "Condor"


class _Log:
    def __init__(self, path: str) -> None:
        self.path = path
        self.cursor = LogCursor()
        self.events: list[CondorEvent] = []


class CondorLogs:
    """The event logs of the Condor jobs watched, each read incrementally."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logs: dict[Hashable, _Log] = {}
        self.events_read = 0
        """Events read from every log (for statistics and tests)."""

    def track(self, token: Hashable, directory: str) -> None:
        """Read ``token``'s log in ``directory`` from now on (again: nothing; another directory: from its start)."""
        path = os.path.join(directory, CONDOR_LOG)
        with self._lock:
            known = self._logs.get(token)
            if known is None or known.path != path:
                self._logs[token] = _Log(path)

    def forget(self, token: Hashable) -> None:
        with self._lock:
            self._logs.pop(token, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._logs)

    def news(self, token: Hashable) -> bool:
        """Read what ``token``'s log gained: did an event come that moves the job?  (Not tracked: False.)"""
        with self._lock:
            log = self._logs.get(token)
            if log is None:
                return False
            fresh = self._read(log)
        return any(event.code in MOVING for event in fresh)

    def answers(self, jobs: Sequence[tuple[Hashable, Any]]) -> tuple[list[Any], list[dict[str, Any]]]:
        """For ``(token, job)`` pairs: the jobs their logs answer for, and the schedd's rows for them.

        Each log is read up to now first.  A job whose log says nothing of its
        ``backend.id`` is left out; a job that ended has no row (it left the queue).
        """
        answered: list[Any] = []
        rows: list[dict[str, Any]] = []
        with self._lock:
            for token, job in jobs:
                log = self._logs.get(token)
                backend_id = str(job.backend.id or "")
                if log is None or "." not in backend_id:
                    continue
                self._read(log)
                state, host = fold(log.events, backend_id)
                if state is None:
                    continue
                answered.append(job)
                if state is not JobState.ENDED:
                    cluster, proc = backend_id.split(".", 1)
                    row: dict[str, Any] = {"ClusterId": int(cluster), "ProcId": int(proc),
                                           "JobStatus": state.value, "RemoteUserCpu": 0.0}
                    if state is JobState.RUNNING and host:
                        row["RemoteHost"] = host
                    rows.append(row)
        return answered, rows

    def _read(self, log: _Log) -> list[CondorEvent]:
        """Read ``log`` on (under the lock): its new events, kept; all of them again if the file was replaced."""
        before = log.cursor
        fresh, log.cursor = read_new(log.path, before)
        if log.cursor.starts != before.starts:
            log.events = []
        log.events.extend(fresh)
        self.events_read += len(fresh)
        return fresh
