"""CPU-heavy finalisation steps, run in worker processes: plain data in, plain data out.

Everything here is a top-level function of paths and numbers (Ganga's job
objects do not pickle) and imports nothing of Ganga, so a spawned worker
starts fast.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import tarfile
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from .._files import write_json_atomically

if TYPE_CHECKING:
    from .base import FinishedWork

log = logging.getLogger("GangaMonitoring.heavy")


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


def _open_for_merge(path: str) -> Any:
    return gzip.open(path, "rb") if path.lower().endswith(".gz") else open(path, "rb")


def merge_text_files(inputs: list[str], output: str, compress: bool) -> tuple[str, int]:
    """Concatenate text outputs the way Ganga's ``TextMerger`` lays them out; returns (output path, pid).

    The layout (a header, a "Start of file" line before each input, an end
    line) is the one users and Ganga's tests read, unchanged.  Unlike the
    in-process original it streams the inputs as bytes, reads and writes
    gzip correctly, and writes to a temp name of its own renamed when complete, so an
    interrupted merge never leaves a half file under the final name, and two merges of one
    output at once each write a whole file (the last one renamed wins).  The
    pid tells the caller which process did the work.
    """
    if compress and not output.lower().endswith(".gz"):
        output += ".gz"
    # a name of this call's own: a merge that timed out keeps running in its worker process while
    # the retry merges the same output, and one fixed name let each write into the other's file
    partial = f"{output}.{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex[:8]}.part"
    try:
        with (gzip.open(partial, "wb") if output.lower().endswith(".gz") else open(partial, "wb")) as merged:
            merged.write(f"# Ganga TextMergeTool - {time.asctime()} #\n".encode())
            for path in inputs:
                merged.write(f"# Start of file {path} #\n".encode())
                with _open_for_merge(path) as part:
                    shutil.copyfileobj(part, merged, 1 << 20)
                merged.write(b"\n")
            merged.write(b"# Ganga Merge Ended Successfully #\n")
        os.replace(partial, output)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise
    return output, os.getpid()


def search_files(paths: list[str], patterns: list[str]) -> tuple[list[list[bool]], int]:
    """For each file, whether each regular expression matches one of its lines; and this process's pid.

    A file stops being read once every pattern was found in it.
    """
    compiled = [re.compile(p) for p in patterns]
    found: list[list[bool]] = []
    for path in paths:
        hits = [False] * len(compiled)
        with open(path, errors="replace") as handle:
            for line in handle:
                for number, pattern in enumerate(compiled):
                    if not hits[number] and pattern.search(line):
                        hits[number] = True
                if all(hits):
                    break
        found.append(hits)
    return found, os.getpid()
