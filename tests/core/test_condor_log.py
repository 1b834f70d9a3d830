"""HTCondor's job event log read incrementally: bytes in, whole events out, on made-up logs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from GangaMonitoring.core.condor_log import (ABORTED, EXECUTE, HELD, SUBMIT, TERMINATED, CondorEvent, JobState,
                                             LogCursor, fold, parse_events, read_new)

SUBMITTED = b"000 (042.000.000) 2026-12-07 14:00:00 Job submitted from host: <10.0.0.1:9618?addrs=10.0.0.1-9618>\n...\n"
EXECUTING = b"001 (042.000.000) 2026-12-07 14:00:02 Job executing on host: <10.0.0.7:9618?addrs=10.0.0.7-9618>\n...\n"
IMAGE = (b"006 (042.000.000) 2026-12-07 14:00:04 Image size of job updated: 2500\n"
         b"\t3  -  MemoryUsage of job (MB)\n\t2500  -  ResidentSetSize of job (KB)\n...\n")
TERMINATED_3 = (b"005 (042.000.000) 2026-12-07 14:00:09 Job terminated.\n"
                b"\t(1) Normal termination (return value 3)\n"
                b"\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Remote Usage\n"
                b"\t0  -  Run Bytes Sent By Job\n...\n")
KILLED = (b"005 (042.000.000) 12/07 14:00:09 Job terminated.\n"
          b"\t(0) Abnormal termination (signal 9)\n\t(0) No core file\n...\n")
HELD_EVENT = (b"012 (042.000.000) 2026-12-07 14:00:05 Job was held.\n"
              b"\tExcessive memory usage.\n\tCode 34 Subcode 0\n...\n")
ABORTED_EVENT = b"009 (042.000.000) 2026-12-07 14:00:06 Job was aborted.\n\tVia condor_rm (by user ganga)\n...\n"
LOG = SUBMITTED + EXECUTING + IMAGE + TERMINATED_3


def codes(events: list[CondorEvent]) -> list[int]:
    return [event.code for event in events]


def test_a_whole_log_is_its_events_in_order_with_their_fields() -> None:
    events, rest = parse_events(LOG)
    assert rest == b"" and codes(events) == [SUBMIT, EXECUTE, 6, TERMINATED]
    submitted, executing, image, terminated = events
    assert (submitted.cluster, submitted.proc, submitted.job_id) == (42, 0, "42.0")
    assert (submitted.date, submitted.time) == ("2026-12-07", "14:00:00")
    assert executing.host == "10.0.0.7:9618?addrs=10.0.0.7-9618" and submitted.host == ""
    assert image.body == ("3  -  MemoryUsage of job (MB)", "2500  -  ResidentSetSize of job (KB)")
    assert (terminated.text, terminated.return_value, terminated.signal) == ("Job terminated.", 3, None)
    killed, = parse_events(KILLED)[0]
    assert (killed.return_value, killed.signal, killed.date) == (None, 9, "12/07")  # HTCondor's older dates too


@pytest.mark.parametrize("cut", range(len(LOG) + 1))
def test_a_log_cut_anywhere_gives_each_event_once_whole(cut: int) -> None:
    first, rest = parse_events(LOG[:cut])
    second, left = parse_events(rest + LOG[cut:])
    assert first + second == parse_events(LOG)[0] and left == b""
    assert all(len(event.body) == {6: 2, TERMINATED: 3}.get(event.code, 0) for event in first + second)


def test_a_log_written_one_byte_at_a_time() -> None:
    events, rest = [], b""
    for i in range(len(LOG)):
        fresh, rest = parse_events(rest + LOG[i:i + 1])
        events += fresh
    assert codes(events) == [SUBMIT, EXECUTE, 6, TERMINATED] and rest == b""


def test_an_end_line_waits_for_its_newline_and_dots_inside_a_line_end_nothing() -> None:
    events, rest = parse_events(SUBMITTED[:-1])
    assert events == [] and rest == SUBMITTED[:-1]
    dotted = b"012 (042.000.000) 2026-12-07 14:00:05 Job was held.\n\tReason: wait... and more...\n...\n"
    held, = parse_events(dotted)[0]
    assert held.body == ("Reason: wait... and more...",)


def test_unknown_codes_come_through_and_garbage_is_skipped_to_its_end() -> None:
    unknown = b"040 (042.000.000) 2026-12-07 14:00:03 Started transferring input files\n\tTransferring to host\n...\n"
    garbage = b"this is not an event\nnor this\n...\n"
    events, rest = parse_events(SUBMITTED + unknown + garbage + b"\n" + EXECUTING)
    assert codes(events) == [SUBMIT, 40, EXECUTE] and rest == b""
    assert fold(events, "42.0") == (JobState.RUNNING, "10.0.0.7:9618?addrs=10.0.0.7-9618")


def test_fold_gives_the_state_of_that_job_only() -> None:
    events = parse_events(SUBMITTED + EXECUTING + HELD_EVENT)[0]
    assert fold(events, "42.0")[0] is JobState.HELD
    assert fold(events, "43.0") == (None, "")  # a log of another (earlier) submission of the job
    assert fold(parse_events(SUBMITTED)[0], "42.0")[0] is JobState.IDLE
    assert fold(parse_events(LOG)[0], "42.0")[0] is JobState.ENDED
    ended = parse_events(SUBMITTED + ABORTED_EVENT + EXECUTING)[0]
    assert codes(ended)[1] == ABORTED and fold(ended, "42.0")[0] is JobState.ENDED  # ended stays ended
    released = HELD_EVENT + b"013 (042.000.000) 2026-12-07 14:00:07 Job was released.\n\tby user\n...\n"
    assert fold(parse_events(SUBMITTED + released)[0], "42.0")[0] is JobState.IDLE
    assert HELD == 12


def test_read_new_reads_what_the_file_gained_keeping_a_partial_event(tmp_path: Path) -> None:
    path = str(tmp_path / "condorLog")
    assert read_new(path, LogCursor()) == ([], LogCursor())  # not written yet
    assert read_new(path, LogCursor())[1].starts == 0
    with open(path, "wb") as f:
        f.write(SUBMITTED + EXECUTING[:20])
    events, cursor = read_new(path, LogCursor())
    assert codes(events) == [SUBMIT] and cursor.partial == EXECUTING[:20]
    assert cursor.offset == len(SUBMITTED) + 20
    assert read_new(path, cursor) == ([], cursor)  # nothing new
    with open(path, "ab") as f:
        f.write(EXECUTING[20:] + TERMINATED_3)
    events, cursor = read_new(path, cursor)
    assert codes(events) == [EXECUTE, TERMINATED] and cursor.partial == b"" and cursor.offset == os.path.getsize(path)
    assert cursor.starts == 1 and cursor.head == (SUBMITTED + EXECUTING)[:64]


def test_a_truncated_or_replaced_log_is_read_from_its_start(tmp_path: Path) -> None:
    path = str(tmp_path / "condorLog")
    with open(path, "wb") as f:
        f.write(LOG)
    _, cursor = read_new(path, LogCursor())
    with open(path, "wb") as f:  # truncated and written again: shorter than the offset
        f.write(SUBMITTED)
    events, cursor = read_new(path, cursor)
    assert codes(events) == [SUBMIT] and cursor.offset == len(SUBMITTED) and cursor.starts == 2
    # a resubmission: a fresh directory, a new log (maybe the old one's inode) longer than the old offset
    os.remove(path)
    with open(path, "wb") as f:
        f.write((SUBMITTED + EXECUTING + HELD_EVENT).replace(b"(042.", b"(043."))
    events, cursor = read_new(path, cursor)
    assert codes(events) == [SUBMIT, EXECUTE, HELD] and {e.job_id for e in events} == {"43.0"}
    replaced = str(tmp_path / "rotated")  # rotated: another file in its place
    with open(replaced, "wb") as f:
        f.write(SUBMITTED)
    os.rename(replaced, path)
    events, cursor = read_new(path, cursor)
    assert codes(events) == [SUBMIT] and events[0].job_id == "42.0"
    assert read_new(path, cursor) == ([], cursor)


def test_condor_logs_ask_for_a_poll_on_moving_events_and_answer_like_the_schedd(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from GangaMonitoring.integration.condor_events import CondorLogs

    logs, path = CondorLogs(), tmp_path / "condorLog"
    job = SimpleNamespace(backend=SimpleNamespace(id="42.0"))
    logs.track("job", str(tmp_path))
    path.write_bytes(SUBMITTED)
    assert not logs.news("job") and not logs.news("other")  # submitted: nothing moves; not tracked: nothing
    assert logs.answers([("job", job)]) == ([job], [{"ClusterId": 42, "ProcId": 0, "JobStatus": 1,
                                                      "RemoteUserCpu": 0.0}])
    with open(path, "ab") as f:
        f.write(EXECUTING + IMAGE[:30])
    assert logs.news("job")
    assert logs.answers([("job", job)])[1][0]["JobStatus"] == 2
    with open(path, "ab") as f:
        f.write(IMAGE[30:])
    assert not logs.news("job")  # an image size changes nothing Ganga shows
    with open(path, "ab") as f:
        f.write(TERMINATED_3)
    assert logs.news("job")
    assert logs.answers([("job", job)]) == ([job], [])  # ended: not in the queue
    other = SimpleNamespace(backend=SimpleNamespace(id="7.3"))
    assert logs.answers([("job", other)]) == ([], [])  # its log says nothing of it: left to the periodic poll
    logs.forget("job")
    assert len(logs) == 0 and logs.events_read == 4
