"""The monitoring snapshot of a running session, in a file a shell command can read.

Users of ``condor_q`` and ``squeue`` ask "what is my monitoring doing?" from
a shell, not only at the Ganga prompt.  While monitoring is enabled the
component writes ``<gangadir>/monitoring/status.json`` every
``[Monitoring]status_file_interval`` seconds, and once more when it stops;
``ganga-monitoring status [--json]`` prints it.

Contract of the file: JSON, written whole (a temp file in the same
directory, then ``os.replace``), so a reader sees the previous snapshot or
the next, never half of one.  Fields: ``format`` (1), ``written_at`` (epoch
seconds), ``pid`` and ``host`` of the writing session, ``state``
("enabled", "disabled", "stopped"), ``text`` (what ``queues`` printed) and
``snapshot`` (``MonitoringSnapshot.as_dict()``), ``jobs`` (the per-job view's
rows, ``job_table.JobRow.as_dict()``: every top-level job, then the subjobs
of masters not final, at most ``job_table.STATUS_FILE_ROWS``) and
``jobs_cut`` (rows were left out past that).  A file without ``jobs`` (an
older version's) reads as None.  Ganga-free: paths and plain data in, text out.
"""

from __future__ import annotations

import configparser
import json
import os
import socket
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from .._files import write_json_atomically

FORMAT = 1
RELATIVE_PATH = os.path.join("monitoring", "status.json")


class StatusFileError(Exception):
    """No status could be read; the message says why in one line."""


@dataclass(frozen=True)
class SessionStatus:
    written_at: float
    pid: int
    host: str
    state: str
    text: str
    snapshot: dict[str, Any]
    jobs: list[dict[str, Any]] | None = None
    """The rows of ``ganga-monitoring jobs``; None: the writer was a version without them."""
    jobs_cut: bool = False


def path_in(gangadir: str) -> str:
    return os.path.join(gangadir, RELATIVE_PATH)


def write(gangadir: str, state: str, text: str, snapshot: dict[str, Any], now: float,
          jobs: list[dict[str, Any]] | None = None, jobs_cut: bool = False) -> str:
    """Write the status of this session into ``gangadir`` whole; returns the file's path."""
    path = path_in(gangadir)
    document = {"format": FORMAT, "written_at": now, "pid": os.getpid(), "host": socket.gethostname(),
                "state": state, "text": text, "snapshot": snapshot}
    if jobs is not None:
        document.update(jobs=jobs, jobs_cut=jobs_cut)
    write_json_atomically(path, document)
    return path


def read(gangadir: str) -> SessionStatus:
    path = path_in(gangadir)
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError as err:
        raise StatusFileError(f"no monitoring status in {gangadir} ({path} does not exist): no Ganga session "
                              "with GangaMonitoring enabled has run with this gangadir") from err
    except OSError as err:
        raise StatusFileError(f"cannot read {path}: {err.strerror or err}") from err
    except ValueError as err:
        raise StatusFileError(f"{path} is not a status file GangaMonitoring wrote ({err})") from err
    try:
        if document.get("format") != FORMAT:
            raise StatusFileError(f"{path} has format {document.get('format')!r}; this version reads {FORMAT}")
        jobs = document.get("jobs")
        return SessionStatus(float(document["written_at"]), int(document["pid"]), str(document["host"]),
                             str(document["state"]), str(document["text"]), dict(document["snapshot"]),
                             None if jobs is None else [dict(row) for row in jobs], bool(document.get("jobs_cut")))
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise StatusFileError(f"{path} is not a status file GangaMonitoring wrote (missing or bad {err})") from err


def describe(status: SessionStatus, now: float, alive: Callable[[int], bool]) -> str:
    """The line above the snapshot: whose it is, how old, and whether that session still runs."""
    age = max(0.0, now - status.written_at)
    where = f"pid {status.pid} on {status.host}"
    if status.state == "stopped":
        return f"The session ({where}) stopped {age:.0f} s ago; its last snapshot:"
    if status.host == socket.gethostname() and not alive(status.pid):
        return (f"The session ({where}) is no longer running (it ended without stopping, {age:.0f} s or less "
                "after this snapshot); its last snapshot:")
    return f"Session {where}, monitoring {status.state}; snapshot of {age:.0f} s ago:"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process of that number: it exists
    return True


def default_gangadir(gangarc: str) -> str:
    """The gangadir a session of this user uses: ``[Configuration]gangadir`` of ``gangarc``, else ~/gangadir.

    A ``gangarc`` that does not exist, or that is not an ini file, gives ~/gangadir (Ganga too starts
    without it); one that exists but cannot be read (a directory, no permission) raises
    :class:`StatusFileError`.
    """
    default = os.path.join(os.path.expanduser("~"), "gangadir")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(gangarc, encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        return default
    except OSError as err:
        raise StatusFileError(f"cannot read {gangarc}: {err.strerror or err}") from err
    except (configparser.Error, UnicodeDecodeError):
        return default
    value = parser.get("Configuration", "gangadir", fallback="").strip()
    return os.path.expanduser(os.path.expandvars(value)) if value else default
