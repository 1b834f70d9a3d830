"""The pure core: scheduling and bookkeeping as state machines, on a clock given to them.

Nothing here starts a thread or a process, or imports Ganga or another layer
of this package: a module of ``core`` imports only the standard library,
tenacity and other modules of ``core``; ``threading`` only for its locks,
which make some of its state safe to read from several threads
(``tests/core/test_purity.py`` checks it).
"""
