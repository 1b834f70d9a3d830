"""What a flush in this thread is doing now, read by the wrappers of items 11 and 16.

Not a patch: the one flag object two patches share, here so that neither
module imports the other (item 11's ``getIndexCache`` wrapper already reads
item 16's root entries).  ``INDEX_WRITING.active`` is set by item 11's
``write_subJobIndex`` wrapper (entries and stats then come from the memos,
``subjobs.idx`` is written whole); ``INDEX_WRITING.unread_index`` by item 16's
``_safe_flush_xml`` wrapper (the old index of a master made in this session
is not read).  Per thread (``flush.IndexWriting`` is a ``threading.local``).
"""

from __future__ import annotations

from ..repository import flush

INDEX_WRITING = flush.IndexWriting()
