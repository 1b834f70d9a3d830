"""Ganga-free: which file system a directory is on, and whether inotify hears its changes.

inotify reports only the changes made through this machine's kernel.  On a
network or cluster file system (NFS, AFS, EOS, CVMFS, Lustre, GPFS, CephFS,
CIFS...) a job's wrapper runs on a worker node, so its writes to the shared
output directory raise no event here: jobs whose output directory is on one
are polled instead.  Python's ``os.statvfs`` has no ``f_type``, so the type
is read from ``/proc/self/mountinfo``: the mount whose mount point is the
longest prefix of the directory's real path.

Contract: :func:`parse_mountinfo` never raises on a line it cannot read (it
skips it); :func:`fs_type` returns ``""`` when no mount is found (then
:func:`events_arrive` says no: polling is the safe side).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

MOUNTINFO = "/proc/self/mountinfo"

NETWORK_TYPES = frozenset({
    "nfs", "nfs4", "afs", "openafs", "cifs", "smb", "smb3", "smbfs", "ncpfs", "9p", "lustre", "gpfs",
    "ceph", "cvmfs", "cvmfs2", "glusterfs", "beegfs", "orangefs", "pvfs2", "gfs2", "ocfs2", "panfs",
    "davfs", "coda", "virtiofs", "vboxsf", "vmhgfs", "wekafs", "quobyte",
})
"""File systems whose changes made on another host raise no inotify event here."""

LOCAL_TYPES = frozenset({
    "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "tmpfs", "overlay", "f2fs", "jfs", "reiserfs", "ramfs",
    "bcachefs", "nilfs2", "hfsplus", "vfat", "exfat", "ntfs", "ntfs3",
})
"""File systems written by this kernel only: every change raises its event."""


@dataclass(frozen=True)
class Mount:
    """One line of ``/proc/self/mountinfo``: where it is mounted, its type and its source."""

    mount_point: str
    fs_type: str
    source: str


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes (``\\040``)."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(lines: Iterable[str]) -> list[Mount]:
    """The mounts of mountinfo ``lines`` (``man 5 proc``: fields, optional fields, ``-``, type, source)."""
    mounts = []
    for line in lines:
        fields = line.split()
        if "-" not in fields[6:]:
            continue  # not a mountinfo line
        dash = fields.index("-", 6)
        if len(fields) < dash + 3 or len(fields) < 5:
            continue
        mounts.append(Mount(_unescape(fields[4]), fields[dash + 1], _unescape(fields[dash + 2])))
    return mounts


def mount_of(path: str, mounts: Iterable[Mount]) -> Mount | None:
    """The mount ``path`` (absolute, resolved) is on: the longest mount point that contains it (the last
    one mounted wins among equal mount points, as the kernel's)."""
    best: Mount | None = None
    for mount in mounts:
        point = mount.mount_point
        inside = path == point or point == "/" or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best.mount_point)):
            best = mount
    return best


def fs_type(path: str, mountinfo: Iterable[str] | None = None) -> str:
    """The file system type of the mount ``path`` is on (``fuse.eosxd``, ``nfs4``...), or ``""``.

    ``path`` is resolved first (a symlinked gangadir counts where it points).
    ``mountinfo``: its lines (default: this process's ``/proc/self/mountinfo``).
    """
    if mountinfo is None:
        try:
            with open(MOUNTINFO, encoding="utf-8", errors="replace") as f:
                mountinfo = f.read().splitlines()
        except OSError:
            return ""
    mount = mount_of(os.path.realpath(path), parse_mountinfo(mountinfo))
    if mount is None:
        return ""
    if mount.fs_type in ("fuse", "fuseblk") and mount.source:
        return f"fuse.{mount.source.split('/')[0]}"  # CVMFS mounts as "fuse" with source "cvmfs2"
    return mount.fs_type


def events_arrive(kind: str) -> bool:
    """Whether inotify hears every change of a directory on a file system of type ``kind``.

    Only the known local types say yes: a FUSE file system (EOS, CVMFS,
    sshfs, s3fs...) or an unknown type is taken as one written from elsewhere.
    """
    return kind in LOCAL_TYPES


def network(kind: str) -> bool:
    """Whether ``kind`` is a known network or cluster file system (FUSE ones included)."""
    base = kind.removeprefix("fuse.")
    return kind in NETWORK_TYPES or kind.startswith("fuse") or base in NETWORK_TYPES or "eos" in base
