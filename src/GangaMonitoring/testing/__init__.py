"""Testing a native driver without Ganga: fake jobs, a recording context, a clock, and the conformance kit.

For the author of a driver (this package's, an experiment's such as
GangaLHCb's, a site's); ``docs/drivers.md`` shows how.  Nothing here imports
Ganga, and nothing here is used by monitoring itself.

- :class:`FakeJob`: a job (or a subjob of a master) with the members a driver
  uses; its status changes are recorded with their ``update_master`` flag.
- :class:`RecordingContext`: a ``DriverContext`` that records hand-overs,
  failures, jobs fine and jobs ended, and refuses ``run_stock_update``
  unless given a stand-in for it.
- :class:`FakeClock`: a clock that moves only when told (``clock.now`` is the
  ``Callable[[], float]`` drivers take).
- :func:`check_driver`, :class:`DriverConformance`, :class:`Scenario`: the
  checks of what a Ganga user relies on of every driver (:data:`CHECKS`).
"""

from __future__ import annotations

from .conformance import (
    CHECKS,
    DONE,
    RUNNING,
    UNKNOWN,
    ConformanceError,
    DriverConformance,
    NotApplicable,
    Scenario,
    check_driver,
)
from .fakes import BrokenJobError, FakeClock, FakeJob, RecordingContext, StatusUpdate, StockUpdateRefused

__all__ = [
    "CHECKS",
    "DONE",
    "RUNNING",
    "UNKNOWN",
    "BrokenJobError",
    "ConformanceError",
    "DriverConformance",
    "FakeClock",
    "FakeJob",
    "NotApplicable",
    "RecordingContext",
    "Scenario",
    "StatusUpdate",
    "StockUpdateRefused",
    "check_driver",
]
