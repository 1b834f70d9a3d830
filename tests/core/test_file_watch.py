"""Where inotify hears a directory (mountinfo), and the one-thread watcher: events, limits, removal, stop."""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

import pytest

from GangaMonitoring import fs_types
from GangaMonitoring.file_watch import DirectoryWatcher, WatchRefused

MOUNTINFO = r"""
22 1 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
35 27 0:45 / /tmp rw,nosuid,nodev shared:20 - tmpfs tmpfs rw,size=8G
61 27 0:53 / /afs rw,relatime shared:31 - afs AFS rw
62 27 0:54 / /eos/user rw,nosuid,nodev,relatime shared:32 - fuse eosxd rw,user_id=0,group_id=0,allow_other
63 27 0:55 / /cvmfs/sft.cern.ch ro,nosuid,nodev,relatime shared:33 - fuse cvmfs2 ro,user_id=0,allow_other
64 27 0:56 / /home/users rw,relatime shared:34 master:12 - nfs4 nas01:/export/home rw,vers=4.2,sec=sys
65 27 0:57 / /lustre/scratch rw,relatime shared:35 - lustre 10.0.0.1@o2ib:/scratch rw,flock
66 27 0:58 / /gpfs/work rw,relatime shared:36 - gpfs work rw
67 64 0:59 / /home/users/me/local\040disk rw,relatime shared:37 - xfs /dev/sdb1 rw
68 27 0:60 / /data rw,relatime - fuse.sshfs me@host:/data rw
this line is not from mountinfo
""".strip().splitlines()


@pytest.mark.parametrize(("path", "kind", "events"), [
    ("/home/me/gangadir/workspace/1/output", "ext4", True),
    ("/tmp/gangadir/workspace/3/output", "tmpfs", True),
    ("/afs/cern.ch/user/m/me/gangadir", "afs", False),
    ("/eos/user/m/me/gangadir", "fuse.eosxd", False),
    ("/cvmfs/sft.cern.ch/lcg", "fuse.cvmfs2", False),
    ("/home/users/me/gangadir/workspace", "nfs4", False),
    ("/home/users/me/local disk/gangadir", "xfs", True),  # a local disk mounted inside an NFS home
    ("/home/usersX/gangadir", "ext4", True),  # a prefix of a mount point's name is not inside it
    ("/lustre/scratch/me", "lustre", False),
    ("/gpfs/work/me", "gpfs", False),
    ("/data/me", "fuse.sshfs", False),
])
def test_the_file_system_of_a_directory_and_whether_its_events_arrive(path: str, kind: str, events: bool) -> None:
    assert fs_types.fs_type(path, MOUNTINFO) == kind
    assert fs_types.events_arrive(kind) is events
    assert fs_types.network(kind) is not events


def test_no_mount_found_is_taken_as_no_events() -> None:
    assert fs_types.fs_type("/anything", []) == ""
    assert not fs_types.events_arrive("")


def test_this_machines_own_mountinfo_is_read(tmp_path: Path) -> None:
    assert fs_types.fs_type(str(tmp_path)) != ""


class Seen:
    """What the watcher reported, in the test's thread."""

    def __init__(self) -> None:
        self.changes: queue.Queue[list[object]] = queue.Queue()

    def __call__(self, tokens: list[object]) -> None:
        self.changes.put(tokens)

    def next(self) -> list[object]:
        return self.changes.get(timeout=30)


def watcher_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "test-file-events"]


def test_a_status_file_written_is_reported_for_its_token_and_other_files_are_not(tmp_path: Path) -> None:
    seen = Seen()
    watcher = DirectoryWatcher(["__jobstatus__"], seen, limit=10, name="test-file-events")
    assert not watcher_threads()  # nothing runs before the first watch
    for n in (1, 2):
        (tmp_path / str(n)).mkdir()
        watcher.watch(("Local", n), str(tmp_path / str(n)))
    try:
        (tmp_path / "1" / "stdout").write_text("a line")  # a job's own output: no event asked for
        (tmp_path / "2" / "__jobstatus__").write_text("START: now\n")
        assert seen.next() == [("Local", 2)]
        with open(tmp_path / "2" / "__jobstatus__", "a") as f:
            f.write("EXITCODE: 0\nSTOP: now\n")
        assert seen.next() == [("Local", 2)]
        assert seen.changes.empty() and watcher.events == 2
        watcher.unwatch(("Local", 2))
        (tmp_path / "2" / "__jobstatus__").write_text("again")
        (tmp_path / "1" / "__jobstatus__").write_text("START: now\n")
        assert seen.next() == [("Local", 1)]  # and nothing for the unwatched one before it
    finally:
        watcher.stop()
    assert not watcher_threads() and len(watcher) == 0


def test_a_watch_of_writes_reports_each_write_of_a_file_kept_open(tmp_path: Path) -> None:
    """A Condor job's event log: HTCondor's shadow writes one event at a time to a file it keeps open."""
    seen = Seen()
    watcher = DirectoryWatcher(["condorLog"], seen, limit=10, name="test-file-events")
    for n in (1, 2):
        (tmp_path / str(n)).mkdir()
    watcher.watch(("Condor", 1), str(tmp_path / "1"), writes=True)
    watcher.watch(("Local", 2), str(tmp_path / "2"))
    try:
        closes_only = open(tmp_path / "2" / "condorLog", "w")  # noqa: SIM115 - closed below, in order
        log = open(tmp_path / "1" / "condorLog", "w")  # noqa: SIM115
        closes_only.write("a write\n")
        closes_only.flush()  # a directory watched for closes only: nothing yet
        log.write("001 (1.000.000) 2026-12-07 14:00:00 Job executing on host: <h>\n...\n")
        log.flush()
        assert seen.next() == [("Condor", 1)]  # while the file stays open
        log.write("005 (1.000.000) 2026-12-07 14:00:05 Job terminated.\n...\n")
        log.flush()
        assert seen.next() == [("Condor", 1)]
        log.close()
        assert seen.next() == [("Condor", 1)]  # its close too
        closes_only.close()
        assert seen.next() == [("Local", 2)] and seen.changes.empty()
    finally:
        watcher.stop()


def test_beyond_the_limit_and_on_a_missing_directory_a_watch_is_refused_saying_why(tmp_path: Path) -> None:
    watcher = DirectoryWatcher(["__jobstatus__"], Seen(), limit=1, name="test-file-events")
    try:
        watcher.watch("a", str(tmp_path))
        watcher.watch("a", str(tmp_path))  # again: nothing more
        with pytest.raises(WatchRefused, match="1 directories are watched already"):
            watcher.watch("b", str(tmp_path))
        watcher.limit = 5
        with pytest.raises(WatchRefused, match="No such file or directory"):
            watcher.watch("c", str(tmp_path / "gone"))
        assert len(watcher) == 1
    finally:
        watcher.stop()


def test_a_deleted_directory_drops_its_watch(tmp_path: Path) -> None:
    seen = Seen()
    watcher = DirectoryWatcher(["__jobstatus__"], seen, limit=10, name="test-file-events", group=lambda t: t[0])
    (tmp_path / "d").mkdir()
    (tmp_path / "e").mkdir()
    try:
        watcher.watch(("Slurm", "d"), str(tmp_path / "d"))
        watcher.watch(("Slurm", "e"), str(tmp_path / "e"))
        assert watcher.watched_in("Slurm") == 2
        os.rmdir(tmp_path / "d")
        (tmp_path / "e" / "__jobstatus__").write_text("x")  # after the IN_IGNORED in the kernel's queue
        assert seen.next() == [("Slurm", "e")]
        assert not watcher.watching(("Slurm", "d")) and watcher.watching(("Slurm", "e"))
        assert watcher.watched_in("Slurm") == 1  # the count follows a watch gone by itself
        watcher.watch(("Local", "e2"), str(tmp_path / "e"))  # the same directory for another job: it wins
        assert not watcher.watching(("Slurm", "e"))
        assert (watcher.watched_in("Slurm"), watcher.watched_in("Local")) == (0, 1)
        watcher.unwatch(("Local", "e2"))
        assert watcher.watched_in("Local") == 0 and len(watcher) == 0
    finally:
        watcher.stop()
    watcher.stop()  # idempotent
    with pytest.raises(WatchRefused, match="stopped"):
        watcher.watch(("Slurm", "f"), str(tmp_path))
