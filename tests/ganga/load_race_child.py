"""A Ganga session in a process of its own for test_single_loads: a read during another thread's load.

Usage: load_race_child.py GANGADIR JOB_ID ATTRIBUTE WHERE.  Thread A loads the saved job and waits, inside
Ganga's load (the registry's locks held), until thread B reading ``ATTRIBUTE`` (one not in the job's index
entry) has read it or waits for those locks; then A goes on.  WHERE is where A waits: ``load`` (as the load
starts: nothing of the job is set yet) or ``list`` (where Ganga makes the job's ``SubJobXMLList``: every other
value is set).  Prints ``read <class name> <len or ->`` when both end (exit 0), or ``deadlock`` (exit 3: the
locks stay held, which is why it runs apart).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sized

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.ganga.conftest import ganga_options  # noqa: E402 - the same options as in-process sessions
from tests.ganga.test_single_loads import waiting_for_the_registry_locks  # noqa: E402

from GangaCore.testlib.GangaUnitTest import start_ganga  # noqa: E402

WAIT = 20.0


def main(gangadir: str, job_id: int, attribute: str, where: str) -> int:
    start_ganga(gangadir, extra_opts=ganga_options([("TestingFramework", "AutoCleanup", False)]))
    from GangaCore import GPI
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    raw = stripProxy(GPI.jobs(job_id))
    registry = raw._registry
    repository = registry.repository
    if repository.isObjectLoaded(raw) or attribute in raw._data:
        print("already loaded", flush=True)
        return 2
    read: list[object] = []
    reader = threading.Thread(target=lambda: read.append(getattr(raw, attribute)), name="reader", daemon=True)

    def until_the_reader_read_or_waits() -> None:
        reader.start()
        deadline = time.monotonic() + WAIT
        while not read and not waiting_for_the_registry_locks(reader) and time.monotonic() < deadline:
            time.sleep(0.005)

    if where == "load":
        ganga_load = repository.load

        def load(ids: list[int], *args: object, **kwargs: object) -> object:
            until_the_reader_read_or_waits()
            return ganga_load(ids, *args, **kwargs)

        repository.load = load
    else:
        import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml

        ganga_list = repository_xml.SubJobXMLList

        def paused(*args: object, **kwargs: object) -> object:
            until_the_reader_read_or_waits()
            return ganga_list(*args, **kwargs)

        paused.checkJobHasChildren = ganga_list.checkJobHasChildren  # type: ignore[attr-defined]
        repository_xml.SubJobXMLList = paused  # type: ignore[assignment]
    loader = threading.Thread(target=registry._load, args=(raw,), name="loader", daemon=True)
    loader.start()
    loader.join(WAIT)
    reader.join(WAIT)
    if loader.is_alive() or reader.is_alive():
        print("deadlock", flush=True)
        os._exit(3)  # the locks stay held: Ganga's stop would wait for them
    value = read[0]
    print(f"read {type(value).__name__} {len(value) if isinstance(value, Sized) else '-'}", flush=True)
    os._exit(0)  # nothing of this session is kept; the parent removes the gangadir


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
