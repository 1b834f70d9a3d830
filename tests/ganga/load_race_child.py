"""A Ganga session in a process of its own for test_single_loads: a read during another thread's load.

Usage: load_race_child.py GANGADIR JOB_ID.  Thread A loads the saved job and, inside Ganga's load (the
registry's locks held), waits until thread B, reading ``backend`` (not in the job's index entry), waits for
those locks; then A goes on.  Prints ``read <class name>`` and exits 0 when both end; a deadlock leaves the
process hanging (the parent kills it), which is why it runs apart.
"""

from __future__ import annotations

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.ganga.conftest import ganga_options  # noqa: E402 - the same options as in-process sessions
from tests.ganga.test_single_loads import waiting_for_the_registry_locks  # noqa: E402

from GangaCore.testlib.GangaUnitTest import start_ganga  # noqa: E402

WAIT = 20.0


def main(gangadir: str, job_id: int) -> int:
    start_ganga(gangadir, extra_opts=ganga_options([("TestingFramework", "AutoCleanup", False)]))
    from GangaCore import GPI
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    raw = stripProxy(GPI.jobs(job_id))
    registry = raw._registry
    repository = registry.repository
    if repository.isObjectLoaded(raw) or "backend" in raw._data:
        print("already loaded", flush=True)
        return 2
    read: list[object] = []
    reader = threading.Thread(target=lambda: read.append(raw.backend), name="reader", daemon=True)
    ganga_load = repository.load

    def load(ids: list[int], *args: object, **kwargs: object) -> object:
        reader.start()
        deadline = time.monotonic() + WAIT
        while not read and not waiting_for_the_registry_locks(reader) and time.monotonic() < deadline:
            time.sleep(0.005)
        return ganga_load(ids, *args, **kwargs)

    repository.load = load
    loader = threading.Thread(target=registry._load, args=(raw,), name="loader", daemon=True)
    loader.start()
    loader.join(WAIT)
    reader.join(WAIT)
    if loader.is_alive() or reader.is_alive():
        print("deadlock", flush=True)
        os._exit(3)  # the locks stay held: Ganga's stop would wait for them
    del repository.load
    print(f"read {type(read[0]).__name__}", flush=True)
    os._exit(0)  # nothing of this session is kept; the parent removes the gangadir


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
