"""A split master's set of subjob statuses, kept up to date instead of read from every subjob each time.

Ganga rolls a master's status up from its subjobs (``Job.updateMasterJobStatus``)
after every status change of every subjob (``updateStatus(update_master=True)``,
the default): its ``getSubJobStatuses`` reads the status of all N subjobs, so a
split job's life costs O(N²) status reads.  At 6,000 subjobs that was a third of
the GIL of ``submit()`` (each subjob goes ``submitting`` then ``submitted``), and
every backend monitored through the compatibility path pays it again for each
``running``, ``completing`` and final state.

:class:`SubjobStatuses` keeps, per master, each subjob's last status and how many
subjobs have each status, built by one scan of the subjobs and updated by
:meth:`changed`, which Ganga's status descriptor calls after each status write of
a subjob (``patches`` item 2's watch).

Why the counts stay exact: every status write of a subjob goes through that
descriptor, holding the master's lock (a subjob's root object is its master),
and :meth:`changed` runs after the write; the scan runs holding the same lock.
So a write either completes before the scan (the scan reads it) or starts after
it (:meth:`changed` finds the record and applies it).  A record belongs to one
subjobs container of one size: a master given new subjobs (split again, or
``appendJobs``) is scanned again.  Thread-safe; Ganga-free: jobs are duck-typed
(``subjobs``, ``status``, ``_getParent``, ``const_lock``).
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .._core.weak import PerObject


@dataclass
class _Record:
    container: weakref.ref[Any]
    """The subjobs container scanned (weakly: it holds the master, which holds this record)."""
    size: int
    of_subjob: dict[int, str]
    """id(subjob) -> its last status."""
    counts: Counter[str] = field(default_factory=Counter)


class SubjobStatuses:
    """Per master, the statuses its subjobs have; :meth:`statuses` equals ``{sj.status for sj in subjobs}``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: PerObject[_Record] = PerObject()
        self.scans = 0
        """Masters scanned (a first call, or new subjobs)."""
        self.changes = 0
        """Subjob status changes applied to a record."""

    def statuses(self, master: Any) -> set[str]:
        """The set of the statuses of ``master``'s subjobs."""
        subjobs = master.subjobs
        size = len(subjobs)
        record = self._records.get(master)
        if record is None or record.container() is not subjobs or record.size != size:
            record = self._scan(master)
        with self._lock:
            return {status for status, count in record.counts.items() if count > 0}

    def _scan(self, master: Any) -> _Record:
        with master.const_lock:  # no subjob status is written meanwhile
            subjobs = master.subjobs
            of_subjob = {id(subjob): subjob.status for subjob in subjobs}
            record = _Record(weakref.ref(subjobs), len(subjobs), of_subjob, Counter(of_subjob.values()))
            with self._lock:
                self.scans += 1
            self._records.put(master, record)
        return record

    def changed(self, subjob: Any, status: str) -> None:
        """``subjob``'s status was just written as ``status`` (a status listener; quick, takes no job lock)."""
        master = subjob._getParent()
        if master is None:
            return
        record = self._records.get(master)
        if record is None:
            return
        with self._lock:
            old = record.of_subjob.get(id(subjob))
            if old is None or old == status:
                return
            record.counts[old] -= 1
            record.counts[status] += 1
            record.of_subjob[id(subjob)] = status
            self.changes += 1

    def forget(self, master: Any) -> None:
        self._records.forget(master)

    def clear(self) -> None:
        self._records.clear()

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        return f"<SubjobStatuses masters={len(self)} scans={self.scans} changes={self.changes}>"
