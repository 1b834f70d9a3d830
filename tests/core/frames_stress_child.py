"""Child process of test_frames_guard: ``sys._current_frames()`` in a loop while other threads
start and end, and garbage cycles whose finalizers let other threads run keep the collector busy.

On CPython 3.11 this deadlocks within seconds (gh-106883) unless the guard is installed;
run with ``guard`` to install GangaMonitoring's, with ``bare`` to run without it.
"""

from __future__ import annotations

import _thread
import gc
import sys
import threading
import time


class LetsOthersRun:
    def __del__(self) -> None:
        time.sleep(0)


def start_and_end_threads(count: int) -> None:
    for _ in range(count):
        thread = threading.Thread(target=threading.local)
        thread.start()
        thread.join()


def make_cyclic_garbage(count: int) -> None:
    for _ in range(count):
        cycle: list[object] = [LetsOthersRun(), _thread._local()]
        cycle.append(cycle)
        del cycle


def main() -> int:
    if sys.argv[1] == "guard":
        from GangaMonitoring import patches

        patches.guard_current_frames()
    gc.set_threshold(5, 1, 1)
    workers = [threading.Thread(target=start_and_end_threads, args=(1000,), daemon=True),
               threading.Thread(target=make_cyclic_garbage, args=(60_000,), daemon=True)]
    for worker in workers:
        worker.start()
    calls = 0
    while any(worker.is_alive() for worker in workers):
        sys._current_frames()
        calls += 1
    print(f"{calls} calls, no deadlock", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
