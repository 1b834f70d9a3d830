"""The per-job view: one row per job (id, name, status, backend, backend id, run time, reason), filtered and
rendered as a table, as ``squeue``/``condor_q`` show them.

``queues.jobs(...)`` at the prompt and ``ganga-monitoring jobs`` in a shell
(from the status file) print the same table.  The rows are built from Ganga
and the component elsewhere (``views/job_rows.py``); here they are plain
data: filtered (:class:`JobFilter`), turned to and from JSON
(:meth:`JobRow.as_dict`, :func:`rows_from_dicts`) and rendered within a
terminal's width (:func:`render`).  Ganga-free.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .layout import ELLIPSIS, cut

STATUS_FILE_ROWS = 2000
"""The most rows the status file holds (top-level jobs first, then subjobs of unfinished masters); past it
the rows are cut and the file says so (``jobs_cut``)."""

MIN_REASON = 12
"""The REASON column keeps at least this many characters; narrower terminals cut the line's end instead."""

HEADERS = ("ID", "NAME", "STATUS", "BACKEND", "BACKEND ID", "RUN TIME", "REASON")
WIDEST = {"name": 24, "backend_id": 20}
"""Columns cut to at most this many characters (the full values stay in the rows)."""


@dataclass(frozen=True)
class JobRow:
    """One job or subjob as the per-job view shows it."""

    fqid: str
    """``"3"`` or ``"3.17"``, as Ganga writes it."""
    name: str
    status: str
    """Ganga's word for it."""
    backend: str
    """The backend's plugin name."""
    backend_id: str = ""
    """The backend's own id for the job ("" when it has none, or it is not known without loading the job)."""
    run_time: float | None = None
    """Seconds from its start of running to its end (or now); None: it has not started, or it is not known."""
    reason: str = ""
    """What monitoring waits for, or why the job ended as it did; a master's: its subjobs' counts."""
    master: int | None = None
    """The master's id for a subjob; None for a top-level job."""
    subjobs: int = 0
    """How many subjobs a master has (0: not split)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rows_from_dicts(items: Iterable[Any]) -> list[JobRow]:
    """Rows read back from JSON (the status file); ValueError naming what is wrong in one that is not a row."""
    rows = []
    for item in items:
        try:
            rows.append(JobRow(fqid=str(item["fqid"]), name=str(item["name"]), status=str(item["status"]),
                               backend=str(item["backend"]), backend_id=str(item.get("backend_id", "")),
                               run_time=None if item.get("run_time") is None else float(item["run_time"]),
                               reason=str(item.get("reason", "")),
                               master=None if item.get("master") is None else int(item["master"]),
                               subjobs=int(item.get("subjobs", 0))))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"a job row is missing or has a bad {err}: {item!r:.80}") from err
    return rows


@dataclass(frozen=True)
class JobFilter:
    """Which rows to show; every field given must match (none given: every row).

    ``statuses``: any of these; ``backend``: its name (any case); ``master``:
    the subjobs of that master; ``name``: a glob when it has ``*``, ``?`` or
    ``[``, else a substring (any case).
    """

    statuses: frozenset[str] = field(default_factory=frozenset)
    backend: str | None = None
    master: int | None = None
    name: str | None = None

    @classmethod
    def of(cls, status: str | Iterable[str] | None = None, backend: str | None = None, master: int | None = None,
           name: str | None = None) -> JobFilter:
        """A filter from what a user typed: ``status`` one word, several separated by commas, or a list."""
        if status is None:
            statuses: frozenset[str] = frozenset()
        elif isinstance(status, str):
            statuses = frozenset(s.strip().lower() for s in status.split(",") if s.strip())
        else:
            statuses = frozenset(str(s).strip().lower() for s in status)
        return cls(statuses, backend, master, name)

    def matches(self, row: JobRow) -> bool:
        if self.statuses and row.status.lower() not in self.statuses:
            return False
        if self.backend is not None and row.backend.lower() != self.backend.lower():
            return False
        if self.master is not None and row.master != self.master:
            return False
        if self.name is not None:
            pattern = self.name.lower()
            if any(c in pattern for c in "*?["):
                return fnmatch.fnmatchcase(row.name.lower(), pattern)
            return pattern in row.name.lower()
        return True

    def apply(self, rows: Iterable[JobRow]) -> list[JobRow]:
        return [row for row in rows if self.matches(row)]


def run_time_text(seconds: float | None) -> str:
    """``"42"``, ``"3:07"``, ``"2:03:07"``, ``"1-02:03:07"`` (squeue's form); "" when not started."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{secs:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def _cells(row: JobRow) -> tuple[str, ...]:
    return (row.fqid, row.name, row.status, row.backend, row.backend_id, run_time_text(row.run_time), row.reason)


def render(rows: Sequence[JobRow], width: int | None = None, cut_at: int | None = None) -> str:
    """The rows as a table under a header line; each line within ``width`` columns (None: whole lines).

    The name and backend-id columns are cut to :data:`WIDEST`; the REASON
    column takes what is left and is cut to it (an ellipsis ends a cut
    value).  ``cut_at``: the rows were cut at that many (a last line says so).
    """
    if not rows:
        return "no jobs"
    cells = [tuple(_cut_cell(i, c) for i, c in enumerate(_cells(row))) for row in rows]
    widths = [max(len(HEADERS[i]), *(len(c[i]) for c in cells)) for i in range(len(HEADERS) - 1)]
    prefix = sum(widths) + 2 * len(widths)
    reason_width = None if width is None else max(MIN_REASON, width - prefix)
    lines = []
    for line in [HEADERS, *cells]:
        head = "  ".join(value.ljust(widths[i]) for i, value in enumerate(line[:-1]))
        text = f"{head}  {cut(line[-1], reason_width)}".rstrip()
        lines.append(cut(text, width))
    if cut_at is not None:
        lines.append(f"(the first {cut_at} rows only)")
    return "\n".join(lines)


def _cut_cell(column: int, value: str) -> str:
    limit = {1: WIDEST["name"], 4: WIDEST["backend_id"]}.get(column)
    if limit is None or len(value) <= limit:
        return value
    return value[:limit - len(ELLIPSIS)] + ELLIPSIS


def subjob_summary(counts: dict[str, int]) -> str:
    """A master's REASON: its subjobs by state, finished states first ("320 completed, 5 failed, 150 running")."""
    order = ("completed", "failed", "killed", "completing", "running", "submitted", "submitting", "new")
    known = [s for s in order if counts.get(s)]
    others = sorted(s for s, n in counts.items() if n and s not in order)
    return ", ".join(f"{counts[s]} {s}" for s in [*known, *others])
