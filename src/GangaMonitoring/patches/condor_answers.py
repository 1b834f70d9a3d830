"""Item 23: Ganga's Condor update can be answered from the jobs' event logs instead of by the schedd.

What: the name ``htcondor`` of ``GangaCore.Lib.Condor.Condor`` (the HTCondor
bindings module it imported) is replaced by a stand-in that is the module in
everything but one call: ``Schedd().query(...)`` made in a thread inside
:func:`answering` returns the rows given there and asks no schedd.  Every other
use, in every other thread, reaches the bindings as before (a ``Schedd`` is
located only when one of its methods is really called).

Why: a job's event log (``condorLog``, which Ganga's submit files ask
HTCondor to write in the output directory) says when the job runs and ends;
file events read it as it grows (``integration/condor_events.py``) and ask for a
poll of that job through Ganga's own ``Condor.updateMonitoringInformation``,
so that its status, exit code and output follow as Ganga decides them.  But
that update always queries the schedd (``condor_q``), once per call: a poll per
job's end would query it far more often than Ganga's periodic polls do.
Answered from the log, an event's poll asks the schedd nothing; the periodic
polls still ask it, as Ganga's do.

Contract: outside :func:`answering`, and for every name but ``Schedd``, the
stand-in is the bindings module (attributes read through); inside, only this
thread's ``query`` is answered, with exactly the rows given (those of jobs
still in the queue by their logs: a terminated or aborted job is absent, as
it is from the schedd once it left the queue).  Nothing is installed when
Ganga's Condor module has no ``htcondor`` (the bindings are missing: Ganga's
Condor backend cannot be used, and file events leave its jobs to their polls).

Installed when the component starts.  Undone by: remove() puts back the
module Ganga imported (the ledger).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from .ledger import _lock, _wrap

CONDOR_MODULE = "GangaCore.Lib.Condor.Condor"

_answers = threading.local()


class _AnsweringSchedd:
    """A schedd located on first use, whose ``query`` in an :func:`answering` thread returns that thread's rows."""

    def __init__(self, bindings: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._bindings, self._args, self._kwargs = bindings, args, kwargs
        self._schedd: Any = None

    def _real(self) -> Any:
        if self._schedd is None:
            self._schedd = self._bindings.Schedd(*self._args, **self._kwargs)
        return self._schedd

    def query(self, *args: Any, **kwargs: Any) -> Any:
        rows = getattr(_answers, "rows", None)
        if rows is not None:
            return [dict(row) for row in rows]
        return self._real().query(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)


class _Bindings:
    """The HTCondor bindings module but for ``Schedd``, which makes :class:`_AnsweringSchedd` objects."""

    __gm_wrapped__ = True

    def __init__(self, bindings: Any) -> None:
        self.__wrapped__ = bindings

    def Schedd(self, *args: Any, **kwargs: Any) -> _AnsweringSchedd:  # noqa: N802 - the bindings' name
        return _AnsweringSchedd(self.__wrapped__, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__wrapped__, name)


def answer_condor_from_logs() -> bool:
    """Install the stand-in in Ganga's Condor module (idempotent); False when the bindings are missing there."""
    module = sys.modules.get(CONDOR_MODULE)
    if module is None or "htcondor" not in vars(module):
        return False
    with _lock:
        _wrap(module, "htcondor", _Bindings)
    return True


def installed() -> bool:
    module = sys.modules.get(CONDOR_MODULE)
    return module is not None and isinstance(vars(module).get("htcondor"), _Bindings)


@contextlib.contextmanager
def answering(rows: Sequence[dict[str, Any]]) -> Iterator[None]:
    """Within, in this thread, Ganga's ``Schedd().query(...)`` returns ``rows`` and asks no schedd."""
    before = getattr(_answers, "rows", None)
    _answers.rows = list(rows)
    try:
        yield
    finally:
        _answers.rows = before
