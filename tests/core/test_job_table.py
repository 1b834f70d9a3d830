"""The per-job view's plain part: filters, widths, run times, rows read back from JSON (issue 29, item 4)."""

from __future__ import annotations

import pytest

from GangaMonitoring.views.job_table import JobFilter, JobRow, render, rows_from_dicts, run_time_text, subjob_summary

ROWS = [JobRow("3", "sim-long", "running", "SimGrid", "g-17", 75.0, "next poll in 4 s", None, 0),
        JobRow("4", "analysis", "failed", "Local", "4242", 3.0, "failed: exit code 1"),
        JobRow("5", "split", "running", "SimGrid", "", None, "1 failed, 2 running", None, 3),
        JobRow("5.0", "split", "failed", "SimGrid", "g-20", 1.0, "failed: the grid reported it Failed", 5),
        JobRow("5.1", "split", "running", "SimGrid", "g-21", 9.0, "next poll in 4 s", 5)]


def fqids(rows: list[JobRow]) -> list[str]:
    return [row.fqid for row in rows]


def test_filters_combine() -> None:
    assert fqids(JobFilter.of("failed").apply(ROWS)) == ["4", "5.0"]
    assert fqids(JobFilter.of("Failed, running", backend="simgrid").apply(ROWS)) == ["3", "5", "5.0", "5.1"]
    assert fqids(JobFilter.of(["failed"], master=5).apply(ROWS)) == ["5.0"]
    assert fqids(JobFilter.of(name="SIM").apply(ROWS)) == ["3"]
    assert fqids(JobFilter.of(name="*a*s*").apply(ROWS)) == ["4"]
    assert fqids(JobFilter.of().apply(ROWS)) == fqids(ROWS)


def test_the_table_fits_the_width_and_keeps_whole_lines_without_one() -> None:
    whole = render(ROWS).splitlines()
    assert whole[0].split() == ["ID", "NAME", "STATUS", "BACKEND", "BACKEND", "ID", "RUN", "TIME", "REASON"]
    assert whole[2].endswith("0:03      failed: exit code 1")
    narrow = render(ROWS, width=60).splitlines()
    assert all(len(line) <= 60 for line in narrow) and narrow[2].endswith("\u2026")
    assert render([], 80) == "no jobs"


def test_run_times_read_as_squeue_writes_them() -> None:
    assert [run_time_text(s) for s in (None, 5, 75, 3 * 3600 + 7, 90000)] == \
        ["", "0:05", "1:15", "3:00:07", "1-01:00:00"]
    assert subjob_summary({"running": 150, "failed": 5, "completed": 320}) == "320 completed, 5 failed, 150 running"


def test_rows_survive_json_and_a_bad_one_is_named() -> None:
    assert rows_from_dicts([row.as_dict() for row in ROWS]) == ROWS
    with pytest.raises(ValueError, match="missing or has a bad 'status'"):
        rows_from_dicts([{"fqid": "1", "name": "", "backend": "Local"}])
