"""Unpacking a tarball so that nothing in it lands outside its directory, on every Python 3.11.

Python 3.11.4 and later give ``tarfile`` its "data" filter (``extractall(filter="data")``): members with
absolute names or ``..`` in them, links pointing out, device files are refused, and modes are made safe.
An earlier 3.11 (Debian 12's python3.11 is 3.11.2) has no ``filter`` argument: there the same rule is
applied here before extracting, to the members this package's outputs hold (regular files and
directories): anything else, or any name leading out of the directory, refuses the whole tarball.
"""

from __future__ import annotations

import os
import tarfile


class UnsafeTarball(tarfile.TarError):
    """A member would land outside the destination, or is not a plain file or directory."""


def extract_all(tar: tarfile.TarFile, destination: str) -> None:
    """``tar.extractall(destination)`` with nothing escaping ``destination`` (see the module's docstring)."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(destination, filter="data")
        return
    root = os.path.realpath(destination)
    members = tar.getmembers()
    for member in members:
        target = os.path.realpath(os.path.join(root, member.name))
        if os.path.isabs(member.name) or os.path.commonpath([root, target]) != root:
            raise UnsafeTarball(f"{member.name!r} would be written outside {destination}")
        if not (member.isfile() or member.isdir()):
            raise UnsafeTarball(f"{member.name!r} is not a plain file or directory")
        member.mode &= 0o755  # no set-user/group-id bits, nothing writable by others
    tar.extractall(destination, members=members)
