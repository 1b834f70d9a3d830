"""hold_count: how many times its owner holds an RLock, read from its repr (the runtime package's way to tell a
flush's own hold on Ganga 8.7.12, whose flusher does not say what it holds; the series' Ganga says it)."""

from __future__ import annotations

import threading

from GangaMonitoring.repository.flush import hold_count


def test_the_owner_s_holds_are_counted_and_another_thread_holds_none() -> None:
    lock = threading.RLock()
    assert hold_count(lock) == 0
    seen: list[int | None] = []
    with lock:
        assert hold_count(lock) == 1
        with lock:
            assert hold_count(lock) == 2
        other = threading.Thread(target=lambda: seen.append(hold_count(lock)))
        other.start()
        other.join(30)
    assert seen == [0] and hold_count(lock) == 0
