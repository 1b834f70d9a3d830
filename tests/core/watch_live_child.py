"""Run by test_watch_live in a pseudo-terminal: the full-screen watch on a fake-clock component."""

from __future__ import annotations

import sys

from GangaMonitoring.views.watch_app import watch
from test_views import component, snapshots  # type: ignore[import-not-found]

if __name__ == "__main__":
    fake = component()
    fake.index.update(7, "SimGrid", "running", now=900.0)
    frames = watch(snapshots(fake), float(sys.argv[1]), None, sys.stdout)
    fake.pools.shutdown()
    print(f"watch ended after {frames} frame(s)")
