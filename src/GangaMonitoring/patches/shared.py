"""The state several patches share: the one seam through which a patch module reads another's.

Not a patch, and nothing here installs one: module-level objects that more
than one patch module reads or writes, here so that no patch module imports
another's state (each imports this module instead), and so that what is
shared between patches is in one place.  Each is kept by the patch that
names it and cleared, where it needs to be, by ``remove()``.

- :data:`HELD_LOCK`: item 13's bounded holds of a master's lock; item 16
  counts its yields (:data:`ROOT_ENTRIES` starts afresh after one), item 22
  hands a write typed at the prompt the lock at its next subjob save.
- :data:`INDEX_WRITING`: what a flush in this thread is doing now (per thread:
  ``flush.IndexWriting`` is a ``threading.local``).  ``active`` is set by item
  11's ``write_subJobIndex`` wrapper (entries and stats then come from the
  memos, ``subjobs.idx`` is written whole), ``unread_index`` by item 16's
  ``_safe_flush_xml`` wrapper (the old index of a master made in this session
  is not read).
- :data:`ROOT_ENTRIES`: item 16's top-level jobs' index entries, once per
  flush, read by item 11's ``getIndexCache`` wrapper.
- :data:`INDEX_WRITES`: item 11's record of the ``subjobs.idx`` each master
  has on disk; its ``safe_save`` wrapper announces every subjob save.
- :data:`FASTER_WRITERS`: item 14's Ganga writer function -> ours, used by item
  11's ``safe_save`` wrapper while installed.
- :data:`SUBJOB_STATUSES`: item 17's counts of a master's subjob statuses, read
  by item 20's job tables.
- :data:`PROMPT_FIRST`: the longer GIL switch interval a job table (item 20) or
  a print (item 21) keeps while monitoring threads ask for the GIL;
- :data:`PROMPT_TURN`: meanwhile monitoring's dispatcher and workers start
  nothing new (the component's runner waits on it).
"""

from __future__ import annotations

from typing import Any

from ..repository import flush, rollup
from ..core.clock import SystemClock
from ..runtime.gil import PromptTurn, SwitchInterval

HELD_LOCK = flush.HeldLock()
"""Bounded holds of a master's lock by the registry flusher (item 13); its counters show the yields."""
INDEX_WRITING = flush.IndexWriting()
"""What a flush in this thread is doing now, read by the wrappers of items 11 and 16."""
ROOT_ENTRIES = flush.RootEntries(generation=lambda: HELD_LOCK.yields)
"""Top-level jobs' index entries, once per flush (item 16): a yield of a bounded hold starts afresh."""
INDEX_WRITES = flush.IndexWrites()
"""Item 11: which masters' ``subjobs.idx`` is still the one last written, no subjob saved since (its counters
show the writes skipped)."""
FASTER_WRITERS: dict[Any, Any] = {}
"""Item 14: Ganga's writer function -> ours, used by item 11's ``safe_save`` wrapper while installed."""
SUBJOB_STATUSES = rollup.SubjobStatuses()
"""Per master, its subjobs' statuses counted (item 17); its counters show the scans and changes."""
PROMPT_FIRST = SwitchInterval(0.05)
"""A table (item 20) or a print (item 21) keeps the GIL up to 50 ms at a time while monitoring threads ask
for it (``runtime/gil.py``)."""
PROMPT_TURN = PromptTurn(SystemClock(), longest=0.2)
"""Meanwhile monitoring's dispatcher and workers start no new operation, at most 200 ms a table or a print
(the component's runner waits on it)."""
