"""The repository fixes' logic, Ganga-free: what a flush needs to cost only what changed.

Memos of a split job's index entries and data-file stats (``flush``), a
master's subjob statuses from counts (``rollup``), Ganga's XML job format
written from strings joined once (``xml_writer``).  ``patches`` installs them
into Ganga's repository classes.
"""
