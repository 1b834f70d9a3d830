"""HTCondor's job event log (``log = ...`` of a submit file, Ganga's ``condorLog``) read incrementally.

HTCondor appends one event per state change of a job to that file, as text:
a header line ``NNN (cluster.proc.subproc) date time text``, body lines, and
a line of three dots that ends the event::

    005 (42.000.000) 2026-12-07 14:00:05 Job terminated.
    \t(1) Normal termination (return value 0)
    ...

:func:`parse_events` turns bytes into the events they complete and the bytes
of an event not finished yet (a writer caught half-way); :func:`fold` turns
one job's events into the state its scheduler holds it in; :func:`read_new`
reads what a file gained since a :class:`LogCursor`.

Contract: pure but for :func:`read_new` (which reads one file); an event is
returned once, whole, in file order, however the bytes were cut between
reads; unknown event codes come through as events of their code (a state
they do not change); a header that is not an event header is skipped with
its body up to the next ``...``; a file that shrank or was replaced (another
inode, or other first bytes: a job resubmitted into a fresh output directory,
whose new log may get the old one's inode, a rotated log) is read again from
its start.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import re

EVENT_END = b"..."
"""The line that ends every event."""

SUBMIT, EXECUTE, EVICTED, TERMINATED, ABORTED, HELD, RELEASED = 0, 1, 4, 5, 9, 12, 13
"""The event codes that change a job's state (HTCondor's ULOG_SUBMIT, ULOG_EXECUTE, ...)."""

_HEADER = re.compile(r"^(\d{3}) \((\d+)\.(\d+)\.(\d+)\) (\S+) (\S+) ?(.*)$")
_RETURN_VALUE = re.compile(r"\(return value (-?\d+)\)")
_SIGNAL = re.compile(r"\(signal (\d+)\)")
_HOST = re.compile(r"<([^>]*)>")
HEAD = 64
"""How many first bytes of a log identify it (its first event names its job): a replaced file differs there."""


class JobState(enum.Enum):
    """Where a job is by its events: HTCondor's ``JobStatus`` for those in the queue, ``ENDED`` for the rest."""

    IDLE = 1
    RUNNING = 2
    HELD = 5
    ENDED = 0
    """Terminated or aborted: the job leaves the queue (Ganga's submit files say ``on_exit_remove = True``)."""


@dataclasses.dataclass(frozen=True)
class CondorEvent:
    """One event of the log: its code, the job it is about, when (as written), its header text and body."""

    code: int
    cluster: int
    proc: int
    date: str
    time: str
    text: str
    body: tuple[str, ...] = ()

    @property
    def job_id(self) -> str:
        """The job's id as Ganga's Condor backend keeps it (``backend.id``): ``cluster.proc``."""
        return f"{self.cluster}.{self.proc}"

    @property
    def return_value(self) -> int | None:
        """A terminated job's exit code (``Normal termination (return value N)``), else None."""
        return self._termination(_RETURN_VALUE)

    @property
    def signal(self) -> int | None:
        """The signal that ended a terminated job abnormally (``Abnormal termination (signal N)``), else None."""
        return self._termination(_SIGNAL)

    def _termination(self, pattern: re.Pattern[str]) -> int | None:
        """The number ``pattern`` finds first in a terminated event's body, else None."""
        found = next((f for f in map(pattern.search, self.body) if f), None) if self.code == TERMINATED else None
        return int(found.group(1)) if found else None

    @property
    def host(self) -> str:
        """The address an execute event names (``Job executing on host: <addr>``), else ''."""
        found = _HOST.search(self.text) if self.code == EXECUTE else None
        return found.group(1) if found else ""


def parse_events(data: bytes) -> tuple[list[CondorEvent], bytes]:
    """The events ``data`` completes, and the bytes after the last complete event (kept for the next read).

    A header line that does not parse (a foreign line, a torn write of
    another writer) is dropped with the lines up to its event's end.
    """
    events: list[CondorEvent] = []
    start = 0
    while True:
        end = _event_end(data, start)
        if end is None:
            return events, data[start:]
        lines = data[start:end].decode("utf-8", "replace").splitlines()
        start = end
        event = _event(lines[:-1])  # without its "..."
        if event is not None:
            events.append(event)


def _event_end(data: bytes, start: int) -> int | None:
    """The index just after the next ``...`` line (and its newline) from ``start``, None if there is none yet."""
    at = start
    while True:
        found = data.find(EVENT_END, at)
        if found < 0:
            return None
        line_start = found == 0 or data[found - 1:found] == b"\n"
        newline = data.find(b"\n", found)
        if newline < 0:
            return None  # the end line itself is not finished
        if line_start and data[found:newline].rstrip(b"\r") == EVENT_END:
            return newline + 1
        at = found + len(EVENT_END)


def _event(lines: list[str]) -> CondorEvent | None:
    while lines and not lines[0].strip():
        lines = lines[1:]
    if not lines:
        return None
    header = _HEADER.match(lines[0].strip())
    if header is None:
        return None
    code, cluster, proc, _sub, date, clock, text = header.groups()
    return CondorEvent(int(code), int(cluster), int(proc), date, clock, text.strip(),
                       tuple(line.strip() for line in lines[1:]))


def fold(events: list[CondorEvent], job_id: str) -> tuple[JobState | None, str]:
    """The state ``job_id``'s events leave it in (None: none of them says), and the last host it ran on.

    Events of other jobs (a log reused by a resubmission) are ignored, and so
    are codes that change no state; a job ended stays ended.
    """
    state: JobState | None = None
    host = ""
    for event in events:
        if event.job_id != job_id or state is JobState.ENDED:
            continue
        if event.code in (SUBMIT, EVICTED, RELEASED):
            state = JobState.IDLE
        elif event.code == EXECUTE:
            state, host = JobState.RUNNING, event.host or host
        elif event.code == HELD:
            state = JobState.HELD
        elif event.code in (TERMINATED, ABORTED):
            state = JobState.ENDED
    return state, host


@dataclasses.dataclass(frozen=True)
class LogCursor:
    """How far a log was read: the file's identity (inode, first bytes), the offset read to, the bytes of an
    unfinished event."""

    inode: int = -1
    offset: int = 0
    partial: bytes = b""
    head: bytes = b""
    starts: int = 0
    """How many times the log was (re)started from its beginning: what was read of it before is gone when it grows."""


def read_new(path: str, cursor: LogCursor) -> tuple[list[CondorEvent], LogCursor]:
    """The events ``path`` completed since ``cursor``, and the cursor after them.

    A file that is missing yields nothing (the cursor kept); one that is
    another file than the cursor's (inode or first bytes) or shorter than its
    offset is read from its start.
    """
    try:
        with open(path, "rb") as f:
            stat = os.fstat(f.fileno())
            same = stat.st_ino == cursor.inode and stat.st_size >= cursor.offset
            if same and cursor.head and f.read(len(cursor.head)) != cursor.head:
                same = False
            if not same:
                cursor = LogCursor(stat.st_ino, starts=cursor.starts + 1)
            f.seek(cursor.offset)
            data = f.read()
    except FileNotFoundError:
        return [], cursor
    events, partial = parse_events(cursor.partial + data)
    head = cursor.head if len(cursor.head) >= HEAD else (cursor.head + data)[:HEAD]
    return events, LogCursor(cursor.inode, cursor.offset + len(data), partial, head, cursor.starts)
