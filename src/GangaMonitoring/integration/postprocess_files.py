"""TextMerger's and FileChecker's file work, run in a worker process (``patches.postprocessing``).

Top-level functions of paths and patterns, importing nothing of Ganga; each
returns the pid of the process that did the work, so the caller can tell.
The decisions (which files, fail or not) stay in Ganga's process.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import shutil
import threading
import time
import uuid
from typing import Any


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
