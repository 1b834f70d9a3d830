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
descriptor, under the master's lock (a subjob's root object is its master),
but Ganga's setter lets that lock go *before* the listeners run, so two
writers of one subjob (a user's ``kill``/``force_status`` against monitoring,
a hand-back against a finalisation) may reach :meth:`changed` in either
order, each with a status that may be stale by then.  So :meth:`changed`
applies no reported status: under the counter's lock it re-reads the
subjob's current status and moves its count from the status it last
counted for that subjob to that one.  Each write is followed, in its own
thread, by a :meth:`changed` that reads at or after it, and those calls are
serialised, so once the writers are quiet the counts equal a recount
whatever the order.  The scan reads under the master's lock, so no write is
half-done meanwhile.  A record belongs to one subjobs container of one size:
a master given new subjobs (split again, or ``appendJobs``) is scanned again.

:meth:`check` compares the counts with a recount (a periodic check): a
mismatch seen at two checks in a row is not a change in flight; it is
logged and repaired.  Thread-safe; Ganga-free: jobs are duck-typed
(``subjobs``, ``status``, ``_data``, ``_getParent``, ``const_lock``).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..core.weak import PerObject

log = logging.getLogger(__name__)


@dataclass
class _Record:
    container: weakref.ref[Any]
    """The subjobs container scanned (weakly: it holds the master, which holds this record)."""
    size: int
    of_subjob: dict[int, str]
    """id(subjob) -> its last status."""
    counts: Counter[str] = field(default_factory=Counter)


def _current(subjob: Any, reported: str | None = None) -> str | None:
    """``subjob``'s status as it is now, read without its lock (a dict read); ``reported`` if it has none loaded."""
    data = getattr(subjob, "_data", None)
    status = data.get("status") if isinstance(data, dict) else None
    return status if status is not None else reported


class SubjobStatuses:
    """Per master, the statuses its subjobs have; :meth:`statuses` equals ``{sj.status for sj in subjobs}``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: PerObject[_Record] = PerObject()
        self._masters: dict[int, weakref.ref[Any]] = {}
        """id(master) -> the master, for :meth:`check` (pruned there)."""
        self._suspects: dict[tuple[int, int], tuple[str, str | None]] = {}
        """(id(master), id(subjob)) -> (counted, current) found by the last :meth:`check`."""
        self.scans = 0
        """Masters scanned (a first call, or new subjobs)."""
        self.changes = 0
        """Subjob status changes applied to a record."""
        self.repairs = 0
        """Counts :meth:`check` found wrong and repaired (0 unless there is a bug)."""

    def statuses(self, master: Any) -> set[str]:
        """The set of the statuses of ``master``'s subjobs."""
        return set(self.counts(master))

    def counts(self, master: Any) -> Counter[str]:
        """How many of ``master``'s subjobs have each status (a copy; statuses no subjob has are left out).

        As fresh as the last status write whose listener ran; a master not
        counted yet (or given new subjobs) is scanned once, under its lock,
        as :meth:`statuses` does.
        """
        subjobs = master.subjobs
        size = len(subjobs)
        record = self._records.get(master)
        if record is None or record.container() is not subjobs or record.size != size:
            record = self._scan(master)
        with self._lock:
            return +record.counts

    def _scan(self, master: Any) -> _Record:
        # every subjob loaded first, without the master's lock: Ganga's loader holds its list's load lock,
        # then takes the master's lock (to mark the loaded subjob saved); loading under the master's lock
        # would take them the other way round (a deadlock with a monitoring thread loading the same list).
        # A loaded subjob stays loaded (the list never forgets one), so the scan below loads none.
        for _ in master.subjobs:
            pass
        with master.const_lock:  # no subjob status is written meanwhile
            subjobs = master.subjobs
            of_subjob = {id(subjob): subjob.status for subjob in subjobs}
            record = _Record(weakref.ref(subjobs), len(subjobs), of_subjob, Counter(of_subjob.values()))
            with self._lock:
                self.scans += 1
                self._masters[id(master)] = weakref.ref(master)
            self._records.put(master, record)
        return record

    def changed(self, subjob: Any, status: str) -> None:
        """A status listener: ``subjob``'s status was written (``status``, maybe stale by now).

        Moves the subjob's count from the status last counted for it to its
        status as it is now, read under the counter's lock: idempotent, and
        the order in which two writers' calls arrive does not matter.  Quick;
        takes no job lock (Ganga's setter has let the master's go already).
        """
        master = subjob._getParent()
        if master is None:
            return
        record = self._records.get(master)
        if record is None:
            return
        with self._lock:
            old = record.of_subjob.get(id(subjob))
            if old is None:
                return
            current = _current(subjob, status)
            if current is None or current == old:
                return
            record.counts[old] -= 1
            record.counts[current] += 1
            record.of_subjob[id(subjob)] = current
            self.changes += 1

    def check(self) -> int:
        """Compare every master's counts with a recount; repair what was wrong at the last check too.

        A subjob whose current status differs from the one counted may be a
        change whose listener has not run yet (it runs after Ganga lets the
        lock go); the same difference found again at the next check is not,
        and is logged and repaired.  Reads no job lock (loaded values only):
        O(subjobs counted).  Returns how many subjobs were repaired.
        """
        repaired = 0
        suspects: dict[tuple[int, int], tuple[str, str | None]] = {}
        with self._lock:
            masters = list(self._masters.items())
        for master_id, ref in masters:
            master = ref()
            record = self._records.get(master) if master is not None else None
            if record is None:
                with self._lock:
                    self._masters.pop(master_id, None)
                continue
            container = record.container()
            if container is None:
                continue
            try:
                subjobs = list(container)
            except Exception:  # a container changing under us: the next statuses() scans it again
                continue
            if len(subjobs) != record.size:
                continue
            with self._lock:
                for subjob in subjobs:
                    counted = record.of_subjob.get(id(subjob))
                    current = _current(subjob)
                    if counted is None or current is None or counted == current:
                        continue
                    key = (master_id, id(subjob))
                    if self._suspects.get(key) != (counted, current):
                        suspects[key] = (counted, current)
                        continue
                    log.warning("the counted statuses of job %s said subjob %s is %r, it is %r: repaired",
                                getattr(master, "id", "?"), getattr(subjob, "id", "?"), counted, current)
                    record.counts[counted] -= 1
                    record.counts[current] += 1
                    record.of_subjob[id(subjob)] = current
                    repaired += 1
                recount = Counter(record.of_subjob.values())
                if +record.counts != recount:
                    log.warning("the counts of job %s were %s, its subjobs' %s: repaired",
                                getattr(master, "id", "?"), dict(+record.counts), dict(recount))
                    record.counts = recount
                    repaired += 1
        with self._lock:
            self._suspects = suspects
            self.repairs += repaired
        return repaired

    def forget(self, master: Any) -> None:
        self._records.forget(master)

    def clear(self) -> None:
        self._records.clear()
        with self._lock:
            self._masters.clear()
            self._suspects.clear()

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        return (f"<SubjobStatuses masters={len(self)} scans={self.scans} changes={self.changes} "
                f"repairs={self.repairs}>")
