"""A local grid simulator: a seeded model of a grid, an HTTP service for it, a client and a launcher.

It lets monitoring be developed and tested at 100k-job scale on one machine,
with real network I/O and real faults, and no external service.
"""
