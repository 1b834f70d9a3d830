"""Threads and processes: the dispatcher thread, the worker pools, the fork server's workers.

What runs the pure core's work (``core``): it imports ``core`` and the
Ganga-free modules the workers run, never Ganga's monitoring integration
(``integration``), the patches or the views.
"""
