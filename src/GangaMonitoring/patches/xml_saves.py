"""Item 14: Ganga's XML writer writes the same bytes from a list of strings joined once.

What: ``VStreamer.to_file`` (which ``SubJobXMLList`` imports when it saves) is
``repository/xml_writer.py``'s ``to_file``; and item 11's ``safe_save`` wrapper
swaps Ganga's writer for ours in the calls of repositories that bound
Ganga's when they were made (``shared.FASTER_WRITERS``).

Why: Ganga's writer (every job and subjob a flush saves) prints each line of
a job's XML with one or more ``print`` calls into a ``StringIO``, a few
hundred per subjob and about a third of each save's time, holding the GIL in
the flusher's thread.

Contract: files are stock's, byte for byte; the walk of the object tree stays
Ganga's; nothing is cached between saves (an object changed in place, without
marking it dirty, is written as it is now).  :func:`fast_xml_saves` installs it
when the component starts.

Undone by: remove() restores ``VStreamer.to_file`` (the ledger) and empties
``shared.FASTER_WRITERS`` (:func:`forget_writers`), so ``safe_save`` calls
Ganga's writer again.
"""

from __future__ import annotations

from typing import Any

from .ledger import _lock, _wrap
from .shared import FASTER_WRITERS


def fast_xml_saves() -> None:
    """Install item 14 (idempotent; undone by remove).  Acts through item 11's ``safe_save`` wrapper
    (each repository bound Ganga's writer when it was made) and Ganga's ``VStreamer.to_file``
    (which ``SubJobXMLList`` imports when it saves)."""
    import GangaCore.Core.GangaRepository.VStreamer as vstreamer

    from ..repository import xml_writer

    def ours(stock_to_file: Any) -> Any:
        FASTER_WRITERS[stock_to_file] = xml_writer.to_file
        return xml_writer.to_file

    with _lock:
        _wrap(vstreamer, "to_file", ours)


def forget_writers() -> None:
    """Ganga's writer is Ganga's again in ``safe_save`` (remove())."""
    with _lock:
        FASTER_WRITERS.clear()
