"""Patches item 24: a job is loaded from disk once, however many threads ask for it at once."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import ganga_running
from .test_flush_cost import KEEP, saved_split_job

pytestmark = pytest.mark.ganga

WAIT = 30.0


def waiting_for_the_registry_locks(thread: threading.Thread) -> bool:
    """``thread`` has asked whether the job is loaded and now waits for the locks Ganga's load takes: in
    Ganga's ``_locked_load`` decorator (``decorated``), or at the locks of item 24's ``_load``."""
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        return False
    if frame.f_code.co_name == "decorated":
        return True
    return frame.f_code.co_name == "_load" and "_flush_lock" in _line(frame)


def _line(frame: Any) -> str:
    import linecache

    return linecache.getline(frame.f_code.co_filename, frame.f_lineno)


def test_a_job_two_threads_ask_for_at_once_is_loaded_once(gangadir: str) -> None:
    """Forced: thread A loads the job and, inside Ganga's load (the registry's locks held), waits until
    thread B has found the job unloaded and waits for those locks.  Ganga's ``_load`` asked only before the
    locks: B then loaded the job a second time, over the object A had handed out, replacing its subjobs
    (an empty list first, then a new list: what A's subjobs held was dropped)."""
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    job_id = saved_split_job(gangadir, 4)
    with ganga_running(gangadir, KEEP) as gpi:
        raw = stripProxy(gpi.jobs(job_id))
        registry = raw._registry
        repository = registry.repository
        assert not repository.isObjectLoaded(raw)
        loads: list[list[Any]] = []
        ganga_load = repository.load
        second = threading.Thread(target=registry._load, args=(raw,), name="second reader")

        def load(ids: list[Any], *args: Any, **kwargs: Any) -> Any:
            loads.append(list(ids))
            if len(loads) == 1:  # A, under the registry's locks: let B find the job unloaded and wait
                second.start()
                deadline = time.monotonic() + WAIT
                while not waiting_for_the_registry_locks(second):
                    assert time.monotonic() < deadline, "the second reader never waited for the locks"
                    time.sleep(0.005)
            return ganga_load(ids, *args, **kwargs)

        repository.load = load
        try:
            first = threading.Thread(target=registry._load, args=(raw,), name="first reader")
            first.start()
            first.join(WAIT)
            subjobs = raw._data["subjobs"]
            second.join(WAIT)
        finally:
            del repository.load
        assert not first.is_alive() and not second.is_alive()
        assert loads == [[job_id]]  # Ganga's: [[id], [id]]
        assert raw._data["subjobs"] is subjobs and len(subjobs) == 4


def read_during_a_load(gangadir: str, attribute: str, where: str) -> tuple[int, list[str], str]:
    """``load_race_child.py``'s run: its exit status, its ``read``/``deadlock`` lines, and its output's end."""
    import subprocess

    job_id = saved_split_job(gangadir, 2)
    child = subprocess.run([sys.executable, str(Path(__file__).with_name("load_race_child.py")), gangadir,
                            str(job_id), attribute, where], capture_output=True, text=True, timeout=180)
    lines = [line for line in child.stdout.splitlines() if line.startswith(("read ", "deadlock", "already"))]
    return child.returncode, lines, child.stdout[-2000:] + child.stderr[-2000:]


def test_a_read_during_another_threads_load_waits_for_it_without_deadlock(gangadir: str) -> None:
    """Forced, in a process of its own (a deadlock would hold the registry's locks for good): thread A loads
    the job and waits, inside Ganga's load, until thread B reading ``backend`` (a value only the load gives)
    waits for the registry's locks.  Ganga's read held the job's lock while it waited, and A needs that lock
    to attach each component it sets: a deadlock.  Now B loads (or waits for the load) before the job's lock."""
    status, lines, output = read_during_a_load(gangadir, "backend", "load")
    assert (status, lines) == (0, ["read Localhost -"]), output


def test_a_job_being_loaded_is_never_read_without_its_subjobs(gangadir: str) -> None:
    """Forced, as above: A waits where Ganga makes the job's ``SubJobXMLList``, every other value set, until B
    reading ``subjobs`` has read or waits.  Ganga had set the class default (an empty list) there first: B
    read a split job with no subjobs.  Now the attribute is unset until the list is, and B waits for the load."""
    status, lines, output = read_during_a_load(gangadir, "subjobs", "list")
    assert (status, lines) == (0, ["read SubJobXMLList 2"]), output
