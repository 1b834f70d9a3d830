"""A backend's poll record: written by concurrent polls, copied whole for readers."""

from __future__ import annotations

from GangaMonitoring.core.poll_record import BackendPollRecord


def test_a_copy_holds_every_field_and_moves_no_more_with_the_record() -> None:
    record = BackendPollRecord("SimGrid")
    record.finished(10.0, 12.5, 40, None)
    record.finished(20.0, 21.0, 40, "HTTP 503")
    copy = record.copy()
    assert copy == record and copy._lock is not record._lock
    assert (copy.polls, copy.failures, copy.consecutive_failures, copy.last_ok_started, copy.last_error,
            copy.last_duration) == (2, 1, 1, 10.0, "HTTP 503", 1.0)
    record.finished(30.0, 30.5, 40, None)
    assert copy.polls == 2 and copy.consecutive_failures == 1 and record.consecutive_failures == 0
