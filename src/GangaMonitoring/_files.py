"""Files replaced whole: a reader (or a crash) sees the old content or the new, never half.

The new content goes to a temp file of a unique name in the same directory
(so two writers never share one), then ``os.replace`` puts it in place; on
any failure the temp file is removed and the old file is untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from typing import Any, TextIO
from collections.abc import Callable


def replace_atomically(path: str, write: Callable[[TextIO], object], *, durable: bool = False,
                       mode_from: str | None = None) -> None:
    """Replace ``path`` with what ``write(handle)`` writes.

    ``durable``: fsync before the rename (a power cut keeps the old or the
    new file).  ``mode_from``: copy that file's permission bits to the new one.
    """
    directory = os.path.dirname(os.path.abspath(path))
    handle, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}-", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            write(out)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        if mode_from is not None:
            shutil.copymode(mode_from, temp)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise


def write_json_atomically(path: str, value: Any, indent: int | None = None) -> None:
    """Write ``value`` as JSON in place of ``path`` (its directory is made if missing)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    replace_atomically(path, lambda out: json.dump(value, out, indent=indent))
