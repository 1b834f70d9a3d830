"""A finished job's output, unpacked in a worker process: plain data in, plain data out.

The native drivers' ``unpack`` steps (``NativeDriver.unpack``) and their
crash records: every function here is top-level, takes paths and
:class:`~GangaMonitoring.drivers.base.FinishedWork` (plain data; Ganga's job
objects do not pickle) and imports nothing of Ganga, so a worker starts fast.
Each step is idempotent: unpacking twice, or after a crash between any two
of its writes, leaves the same files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tarfile
import time
from typing import TYPE_CHECKING

from .._files import write_json_atomically
from .._tarballs import extract_all

if TYPE_CHECKING:
    from .base import FinishedWork

log = logging.getLogger("GangaMonitoring.outputs")


def unpack_tarball(tarball: str, outputdir: str, remove: bool = True) -> list[str]:
    """Unpack ``tarball`` into ``outputdir`` (``_tarballs.extract_all``: nothing escapes it).

    Idempotent: unpacking the same tarball again rewrites the same files.
    The tarball is removed afterwards unless ``remove`` is False.
    """
    os.makedirs(outputdir, exist_ok=True)
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        extract_all(tar, outputdir)
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


UNPACKED_SUFFIX = ".unpacked"


def unpacked_marker(work: FinishedWork) -> str:
    """Where the record of an unpacked output lives: beside the output dir, not in it.

    Its name carries the backend's job id, so a resubmitted job (new id) is
    fetched afresh; it goes with the job's workspace when the job is removed.
    """
    job_dir = os.path.dirname(os.path.normpath(work.outputdir))
    return os.path.join(job_dir, ".gangamonitoring", f"output-{work.backend_id}{UNPACKED_SUFFIX}")


def retrieval_record(work: FinishedWork) -> str:
    """Where a driver keeps what it retrieved about a job (not its files), for a restart to reuse.

    Beside the output dir, like :func:`unpacked_marker`; named by the
    backend's job id, so a resubmitted job starts afresh.
    """
    job_dir = os.path.dirname(os.path.normpath(work.outputdir))
    return os.path.join(job_dir, ".gangamonitoring", f"output-{work.backend_id}.retrieved.json")


def unpack_dirac_retrieval(work: FinishedWork, path: str) -> list[str]:
    """The Dirac driver's ``unpack`` step: an oversized sandbox DIRAC fetched from grid storage is unpacked.

    DIRAC itself unpacks a normal sandbox while downloading it; one too
    big for the sandbox store comes back as a tarball, which stock Ganga
    untars with ``tar`` on its event loop.  The record (``path``) is rewritten without
    the tarball once it is unpacked, so repeating this step is harmless.
    Returns the names in the output dir.
    """
    with open(path, encoding="utf-8") as handle:
        facts = json.load(handle)
    tarball = facts.get("oversized_tarball")
    if tarball and os.path.exists(tarball):
        unpack_tarball(tarball, work.outputdir)
        log.warning("the output sandbox of job %s was too big for DIRAC's sandbox store: unpacked it from %s",
                    work.fqid, tarball)
    if tarball:
        facts["oversized_tarball"] = None
        write_json_atomically(path, facts)
    return sorted(os.listdir(work.outputdir)) if os.path.isdir(work.outputdir) else []


def already_retrieved(work: FinishedWork, tarball: str) -> str | None:
    """What an earlier, interrupted session already has of this output: the marker or the tarball."""
    marker = unpacked_marker(work)
    for path in (marker, tarball):
        if os.path.exists(path):
            return path
    return None


def unpack_retrieved(work: FinishedWork, path: str) -> list[str]:
    """Unpack a retrieved output tarball into the job's output dir (a driver's ``unpack`` step).

    Crash-safe in this order: unpack (idempotent), record the file list in
    the marker (written to a temp name, renamed), then remove the tarball.
    A session killed anywhere in between leaves either the tarball (unpacked
    again) or the marker (nothing to do): the output is never fetched twice.
    Given the marker itself, it returns the recorded list.

    Two unpacks of one output at once (a step that timed out goes on in
    its worker process while its retry runs) both succeed: whichever ends
    second finds the tarball gone and the marker written.
    """
    marker = unpacked_marker(work)
    if path == marker or (not os.path.exists(path) and os.path.exists(marker)):
        with open(marker, encoding="utf-8") as handle:
            return list(json.load(handle))
    started = time.perf_counter()
    size = os.path.getsize(path)
    names = unpack_tarball(path, work.outputdir, remove=False)
    log.debug("unpacked %d file(s) of job %s (%d bytes) in %.0f ms", len(names), work.fqid, size,
              1000 * (time.perf_counter() - started))
    write_json_atomically(marker, names)
    with contextlib.suppress(FileNotFoundError):  # the other unpack of it removed it first
        os.remove(path)
    return names
