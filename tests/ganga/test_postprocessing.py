"""Ganga's TextMerger and FileChecker on real Local jobs: same outcomes, file work in worker processes."""

from __future__ import annotations

import gzip
import logging
import os
import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import wait_for

pytestmark = pytest.mark.ganga

WORKER_PID = re.compile(r"in worker process (\d+)")


def worker_pids(caplog: pytest.LogCaptureFixture, what: str) -> set[int]:
    return {int(m.group(1)) for r in caplog.records if what in r.getMessage()
            for m in [WORKER_PID.search(r.getMessage())] if m}


def split_echo_job(gpi: Any, words: list[str], **job: Any) -> Any:
    return gpi.Job(application=gpi.Executable(exe="echo"), backend=gpi.Local(),
                   splitter=gpi.ArgSplitter(args=[[w] for w in words]), **job)


def test_text_merger_merges_subjob_outputs_in_a_worker_process(ganga_session: Any,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    gpi = ganga_session
    caplog.set_level(logging.DEBUG, logger="GangaMonitoring.patches")
    words = ["alpha", "beta", "gamma"]
    job = split_echo_job(gpi, words, postprocessors=[gpi.TextMerger(files=["stdout"], compress=True)])
    job.submit()
    assert wait_for(lambda: job.status == "completed", timeout=90), (job.status, [s.status for s in job.subjobs])
    merged = gzip.decompress(Path(job.outputdir, "stdout.gz").read_bytes()).decode()
    lines = merged.splitlines()
    assert lines[0].startswith("# Ganga TextMergeTool - ") and lines[-1] == "# Ganga Merge Ended Successfully #"
    for sub, word in zip(job.subjobs, words, strict=True):
        start = lines.index(f"# Start of file {Path(sub.outputdir, 'stdout')} #")
        assert lines[start + 1] == word
    assert not list(Path(job.outputdir).glob("*.part"))
    pids = worker_pids(caplog, "merged 3 file(s)")
    assert pids and os.getpid() not in pids, [r.getMessage() for r in caplog.records]


def test_file_checker_fails_the_subjob_whose_output_matches_searching_in_a_worker(
        ganga_session: Any, caplog: pytest.LogCaptureFixture) -> None:
    gpi = ganga_session
    caplog.set_level(logging.DEBUG, logger="GangaMonitoring.patches")
    checker = gpi.FileChecker(files=["stdout"], searchStrings=["^err.r$"], failIfFound=True)
    job = split_echo_job(gpi, ["fine", "error", "also-fine"], postprocessors=[checker])
    job.submit()
    assert wait_for(lambda: all(s.status in ("completed", "failed") for s in job.subjobs), timeout=90), (
        [s.status for s in job.subjobs])
    assert [s.status for s in job.subjobs] == ["completed", "failed", "completed"]
    pids = worker_pids(caplog, "searched 1 file(s)")
    assert pids and os.getpid() not in pids


def test_file_checker_that_wants_a_string_fails_jobs_without_it(ganga_session: Any,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    gpi = ganga_session
    caplog.set_level(logging.DEBUG, logger="GangaMonitoring.patches")
    checker = gpi.FileChecker(files=["stdout"], searchStrings=["fine"], failIfFound=False)
    job = split_echo_job(gpi, ["fine", "bad"], postprocessors=[checker])
    job.submit()
    assert wait_for(lambda: all(s.status in ("completed", "failed") for s in job.subjobs), timeout=90), (
        [s.status for s in job.subjobs])
    assert [s.status for s in job.subjobs] == ["completed", "failed"]
    pids = worker_pids(caplog, "searched 1 file(s)")
    assert pids and os.getpid() not in pids


def test_a_merge_asked_for_at_the_prompt_writes_where_the_prompt_is(ganga_session: Any, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker processes have a working directory of their own: relative paths are the prompt's."""
    gpi = ganga_session
    job = split_echo_job(gpi, ["one", "two"])
    job.submit()
    assert wait_for(lambda: job.status == "completed", timeout=90), job.status
    monkeypatch.chdir(tmp_path)
    gpi.TextMerger(files=["stdout"]).merge(job, outputdir="merged")
    text = (tmp_path / "merged" / "stdout").read_text()
    assert "one\n" in text and "two\n" in text and text.endswith("# Ganga Merge Ended Successfully #\n")
