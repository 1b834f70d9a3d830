"""One Ganga session of the persistence stress test: writers, bounded flushes, maybe a SIGKILL; checks.

Usage: ``persistence_stress_child.py GANGADIR SEED KILL_AT`` (KILL_AT: the number of the write into
GANGADIR before which the session SIGKILLs itself, 0 for none).

The session (GangaMonitoring active, monitoring disabled so nothing else writes, Ganga's periodic
flusher off) makes the split jobs on a first start (``MASTERS`` TestSubmitter masters, flushed).
Then it checks what it loaded, runs ``WRITERS`` writer threads (``updateStatus`` of subjobs as
monitoring does, ``comment``, ``force_status``, kill-like and resubmit-like transitions) beside a
flusher thread calling ``Registry.flush_all`` with a zero hold budget (the lock is let go before
every subjob save), and, once they are done (quiescence), flushes everything and checks again.
It prints ``MISMATCH <phase> <what>`` for each broken invariant, ``STALE <n>`` for index entries
older than their data file after a kill (Ganga's loader does not check them; stock as ours),
``STALE-MASTER-INDEX 1`` for a master whose ``<id>.index`` disagrees with its data file at load
(Ganga writes it only when missing, or at a clean shutdown; stock as ours), and ``DONE`` at the
end (unless killed).  Ganga is never stopped (no stop-time flush repairs anything).

The invariants (``check``):

- at load: every subjob's and master's status in memory equals its data file's (``data``, or
  ``data~`` when a kill fell between ``safe_save``'s two renames); an index entry stamped with
  its data file's ctime agrees with the file;
- at quiescence: memory == data file == ``subjobs.idx`` for every subjob, memory == data file for
  every master; the counted subjob statuses (``SUBJOB_STATUSES``) equal the subjobs' own; and
  each master's status, once rolled up again, equals the roll-up of its subjobs' statuses (unless
  Ganga's transition graph forbids that roll-up, e.g. ``failed`` -> ``killed``: then
  ``FORBIDDEN-ROLL-UP`` is printed, stock as ours).
"""

from __future__ import annotations

import os
import pickle
import random
import re
import signal
import sys
import threading
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

MASTERS = (5, 8)
"""Subjobs of each split job."""
WRITERS = 3
OPERATIONS = 60
"""Operations per writer thread per session."""
SWITCH_INTERVAL = 2e-6
"""Seconds between two GIL hand-offs while the writers and the flusher run (Python's default: 5 ms)."""
ROLL_UP_ORDER = ("submitting", "submitted", "running", "completing", "failed", "killed", "completed")
"""Ganga's ``Job.updateMasterJobStatus``: the first of these a subjob has is the master's status."""
_STATUS = re.compile(r'name="status"\s*>\s*<value>\s*[\'"](\w+)[\'"]')


def roll_up(statuses: set[str]) -> str | None:
    return next((status for status in ROLL_UP_ORDER if status in statuses), None)


def file_status(path: str) -> str | None:
    """The status saved in a data file (``path``, or ``path~`` if it is missing), None if neither reads."""
    for candidate in (path, path + "~"):
        try:
            with open(candidate, encoding="utf-8") as handle:
                found = _STATUS.search(handle.read())
        except OSError:
            continue
        if found:
            return found.group(1)
    return None


def kill_at_write(gangadir: str, kill_at: int) -> Any:
    """An audit hook that SIGKILLs this process just before its ``kill_at``-th write inside ``gangadir``."""
    count = 0
    root = os.path.realpath(gangadir)
    lock = threading.Lock()

    def hook(event: str, args: tuple[Any, ...]) -> None:
        nonlocal count
        if event == "open":
            path, mode, flags = args
            writes = any(c in mode for c in "wax+") if isinstance(mode, str) else \
                bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
            if not writes or not isinstance(path, (str, bytes, os.PathLike)):
                return
        elif event not in ("os.rename", "os.replace", "os.remove"):
            return
        else:
            path = args[0]
        if not os.path.realpath(os.fsdecode(path)).startswith(root):
            return
        with lock:
            count += 1
            if count == kill_at:
                sys.stdout.flush()
                os.kill(os.getpid(), signal.SIGKILL)

    return hook


def check(raw_masters: list[Any], phase: str) -> list[str]:
    """The broken invariants of ``phase`` ("load" or "quiescence"), as lines to print."""
    from GangaMonitoring import patches

    problems: list[str] = []
    stale = 0
    for master in raw_masters:
        fn = master._getRegistry().repository.get_fn(master.id)
        directory = os.path.dirname(fn)
        if phase == "load":
            cached = (getattr(master, "_index_cache", None) or {}).get("status")
            if cached is not None and cached != file_status(fn):
                sys.stdout.write("STALE-MASTER-INDEX 1\n")  # <id>.index is written only when missing (stock)
        master._loadObject()  # the status from the data file, not from the master's own index
        saved = file_status(fn)
        if saved != master.status:
            problems.append(f"{phase} job {master.id}: memory {master.status!r}, data file {saved!r}")
        try:
            with open(os.path.join(directory, "subjobs.idx"), "rb") as handle:
                index = pickle.load(handle)
        except (OSError, EOFError, pickle.UnpicklingError) as err:
            problems.append(f"{phase} job {master.id}: subjobs.idx unreadable ({err})")
            index = {}
        statuses = set()
        for subjob in master.subjobs:
            number = subjob.id
            status = subjob.status
            statuses.add(status)
            data = os.path.join(directory, str(number), "data")
            on_disk = file_status(data)
            entry = index.get(number) or {}
            indexed = entry.get("status")
            if on_disk != status:
                problems.append(f"{phase} job {master.id}.{number}: memory {status!r}, data file {on_disk!r}")
            if phase == "quiescence":
                if indexed != status:
                    problems.append(f"{phase} job {master.id}.{number}: memory {status!r}, subjobs.idx {indexed!r}")
            elif indexed != on_disk:
                try:
                    current = entry.get("modified") == os.stat(data).st_ctime
                except OSError:
                    current = False
                if current:
                    problems.append(f"{phase} job {master.id}.{number}: subjobs.idx {indexed!r} stamped as "
                                    f"current, data file {on_disk!r}")
                else:
                    stale += 1
        if phase == "quiescence":
            counted = patches.SUBJOB_STATUSES.statuses(master)
            if counted != statuses:
                problems.append(f"{phase} job {master.id}: counted statuses {sorted(counted)}, "
                                f"subjobs' {sorted(statuses)}")
            try:
                master.updateMasterJobStatus()
            except Exception as err:  # noqa: BLE001 - Ganga's graph forbids it (failed -> killed): stock
                if type(err).__name__ != "JobStatusError":
                    raise
                sys.stdout.write(f"FORBIDDEN-ROLL-UP {master.status}->{roll_up(statuses)}\n")
                continue
            if master.status != roll_up(statuses):
                problems.append(f"{phase} job {master.id}: status {master.status!r} after a roll-up, "
                                f"subjobs {sorted(statuses)}")
    if stale:
        sys.stdout.write(f"STALE {stale}\n")
    return problems


def write_randomly(rng: random.Random, masters: list[Any], counter: list[int]) -> None:
    """One writer: OPERATIONS random writes, each as a monitor or a user makes it (errors of Ganga's
    transition rules are expected and skipped)."""
    for _ in range(OPERATIONS):
        master = rng.choice(masters)
        subjob = master.subjobs[rng.randrange(len(master.subjobs))]
        roll = rng.random()
        try:
            if roll < 0.45:  # a monitor's update
                subjob.updateStatus(rng.choice(("running", "completing", "completed", "failed")))
            elif roll < 0.65:
                subjob.comment = f"c{rng.randrange(10**6)}"
            elif roll < 0.75:  # the user kills a subjob, or a backend reports it killed
                subjob.updateStatus("killed")
            elif roll < 0.85:  # a driver resubmits it
                subjob.status = "submitted"
                master.updateMasterJobStatus()
            elif roll < 0.95:
                subjob.force_status(rng.choice(("failed", "completed")), force=True)
            else:
                master.force_status("failed", force=True)
        except Exception:  # noqa: BLE001 - a forbidden transition, as Ganga raises it
            pass
        counter[0] += 1


def main(gangadir: str, seed: int, kill_at: int) -> None:
    from tests.ganga.conftest import ganga_options

    from GangaCore.testlib.GangaUnitTest import start_ganga

    start_ganga(gangadir, extra_opts=ganga_options([("Registry", "AutoFlusherWaitTime", 3600),
                                                    ("TestingFramework", "AutoCleanup", False)]))
    from GangaCore import GPI
    from GangaCore.Core import monitoring_component
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    from GangaMonitoring import patches

    rng = random.Random(seed)
    if len(GPI.jobs):  # checked as loaded, before the component's recovery moves completing jobs back
        for line in check([stripProxy(job) for job in GPI.jobs], "load"):
            sys.stdout.write(f"MISMATCH {line}\n")
    monitoring_component.enable()  # installs the repository patches
    monitoring_component.disable()  # no poll writes meanwhile: the writers below are the only ones
    patches.HELD_LOCK.budget = 0.0  # every subjob save lets the master's lock go
    if not len(GPI.jobs):
        for count in MASTERS:
            job = GPI.Job(backend=GPI.TestSubmitter(time=3600), splitter=GPI.ArgSplitter(args=[[str(i)]
                                                                                          for i in range(count)]))
            job.submit()
        stripProxy(GPI.jobs(0))._getRegistry().flush_all()
        sys.stdout.write("CREATED\n")
    masters = [stripProxy(job) for job in GPI.jobs]
    sys.stdout.flush()
    registry = masters[0]._getRegistry()
    if kill_at:
        sys.addaudithook(kill_at_write(gangadir, kill_at))
    done = threading.Event()

    def flusher() -> None:
        while not done.is_set():
            registry.flush_all()

    counter = [0]
    sys.setswitchinterval(SWITCH_INTERVAL)  # threads interleave at far more points than by default
    writers = [threading.Thread(target=write_randomly, args=(random.Random(rng.random()), masters, counter))
               for _ in range(WRITERS)]
    flushing = threading.Thread(target=flusher)
    flushing.start()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    done.set()
    flushing.join()
    for master in masters:
        master._setDirty()  # the index of a master no writer touched is written again too
    registry.flush_all()
    for line in check(masters, "quiescence"):
        sys.stdout.write(f"MISMATCH {line}\n")
    sys.stdout.write(f"DONE {counter[0]}\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
