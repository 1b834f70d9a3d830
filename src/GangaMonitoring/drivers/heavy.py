"""CPU-heavy finalisation steps, run in worker processes: plain data in, plain data out.

Everything here is a top-level function of paths and numbers (Ganga's job
objects do not pickle) and imports nothing of Ganga, so a spawned worker
starts fast.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import FinishedWork


def unpack_tarball(tarball: str, outputdir: str, remove: bool = True) -> list[str]:
    """Unpack ``tarball`` into ``outputdir`` (tarfile's "data" filter: nothing escapes it).

    Idempotent: unpacking the same tarball again rewrites the same files.
    The tarball is removed afterwards unless ``remove`` is False.
    """
    os.makedirs(outputdir, exist_ok=True)
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        tar.extractall(outputdir, filter="data")
    if remove:
        os.remove(tarball)
    return names


def sha256_of(path: str, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def unpack_retrieved(work: FinishedWork, path: str) -> list[str]:
    """Unpack a retrieved output tarball into the job's output dir (a driver's ``unpack`` step)."""
    return unpack_tarball(path, work.outputdir)
