"""Child process of test_runner_pools: a main script without a ``__main__`` guard, as Ganga's ``ganga`` is.

Every process that runs this file appends its pid to ``$GM_MAIN_RUNS``: a worker
that re-ran its parent's main script would append its own.  The parent (the
first to run it) starts the process pool, has a worker give its pid, and watches
``sys.modules["__main__"]`` from another thread meanwhile; it prints what it saw.
"""

import json
import os
import sys
import threading

with open(os.environ["GM_MAIN_RUNS"], "a", encoding="utf-8") as runs:
    runs.write(f"{os.getpid()}\n")

if "GM_POOL_PARENT" not in os.environ:
    os.environ["GM_POOL_PARENT"] = str(os.getpid())
    from GangaMonitoring.core.clock import SystemClock
    from GangaMonitoring.runtime.pools import Pools

    main = sys.modules["__main__"]
    swapped = []
    launched = threading.Event()

    def watch() -> None:
        while not launched.is_set():
            if sys.modules["__main__"] is not main:
                swapped.append(True)

    watcher = threading.Thread(target=watch)
    watcher.start()
    pools = Pools({"processes": 2}, SystemClock())
    try:
        workers = {pools.run_in_process(os.getpid) for _ in range(6)}
    finally:
        launched.set()
        watcher.join()
        pools.shutdown(wait=True)
    print(json.dumps({"parent": os.getpid(), "workers": sorted(workers), "swapped": len(swapped)}))
