"""File events: a Local or Batch job polled as soon as its wrapper writes its status file, a Condor job as soon
as its event log says it moved.

Ganga's Local and Batch backends (Slurm, LSF, PBS, SGE) learn a job's start
and end only from the ``__jobstatus__`` file its wrapper writes in the job's
output directory, read at each poll of the backend (every 10 s for Local,
30 s for Slurm).  Here each such job's output directory is watched from the
moment the job is ``submitted`` until it is final (one inotify watch each, one
thread for all: ``file_watch.py``), and its status file closed after writing
(the wrappers keep it open from the START line and close it after the STOP
line: the close is the job's end) asks for a poll of *that* job (with the others that changed within
``[Monitoring]file_event_window``) through its backend's own driver: the
native driver's :meth:`~GangaMonitoring.drivers.base.NativeDriver.files_changed`
(for Slurm Ganga's status-file update alone, no ``squeue``), or the backend's
own ``updateMonitoringInformation`` for those jobs.  It is never a poll of
the backend: the periodic polls go on as before, as a safety net.

Condor jobs' output directories are watched the same way for their event
log (``condorLog``, to which HTCondor's shadow writes one event at a time,
keeping it open while the job runs: its writes are watched, not only its
close): each change is read from where the last one stopped, and an event that moves the
job (it runs, ends, is aborted or held) asks for a poll of that job through
Ganga's own Condor update, whose schedd query its log answers
(``integration/condor_events.py``, patches item 23): no query of the schedd is
added by events.

Where events do not arrive (the output directory on NFS, AFS, EOS, CVMFS,
Lustre, GPFS or another network or FUSE file system: ``fs_types.py``, unless
``[Monitoring]file_events`` is ``on``), when watching is ``off``, beyond
``max_file_watches`` or when the kernel has no watch left, the job is not
watched and its backend's periodic polls find its end, as before; each such
case is said once in the log.

Contract: a watch is added when a job becomes ``submitted`` or ``running``
(or when a poll of its backend's native driver first looks at it: jobs a
previous session left active) and removed when it becomes final (or its directory goes), and every watch
and the thread go at :meth:`FileEvents.stop`.  An event's poll never runs
for a job whose top-level ``submit()`` still runs: it waits until that
returns (:meth:`FileEvents.submission_ended`).  While monitoring is
disabled, events ask for nothing.
"""

from __future__ import annotations

import collections
import functools
import os
import threading
from collections.abc import Callable, Hashable
from typing import Any, cast

from GangaCore.GPIDev.Base.Proxy import getName, stripProxy
from GangaCore.Utility.logging import getLogger

from .. import config, fs_types
from ..core.changed import ChangedJobs, file_event_poll
from ..core.clock import Clock
from ..core.index import POLLED_STATES
from ..runtime.runner import SchedulerRunner
from ..core.work import JobKey, Operation
from ..drivers.base import job_key
from ..views.snapshot import FileEventsSnapshot
from ..file_watch import DirectoryWatcher, WatchRefused, max_user_watches
from .. import patches
from . import registry
from .condor_events import BACKEND as CONDOR, CONDOR_LOG, CondorLogs
from ..patches.condor_answers import answering

log = getLogger("GangaMonitoring.file_events")

STATUS_FILE = "__jobstatus__"
FINAL = frozenset({"completed", "failed", "killed", "removed", "new", "completing"})
"""Statuses in which a job's status file says nothing new any more (``completing``: its end is owned)."""
ENDED_KEPT = 10_000
"""How many jobs that ended in an event's poll are remembered (the cause ``queues`` and tests read)."""


def _backend_of(token: Hashable) -> Hashable:
    """A watch's group: its job's backend (``(backend, job key)`` tokens)."""
    return cast(tuple[str, JobKey], token)[0]


def watched_backend(backend: Any) -> bool:
    """Does this backend's monitoring read a file written in the output directory (a status file, Condor's log)?"""
    from GangaCore.Lib.Batch.Batch import Batch
    from GangaCore.Lib.Condor.Condor import Condor
    from GangaCore.Lib.Localhost.Localhost import Localhost

    return isinstance(backend, (Batch, Condor, Localhost))


def watch_limit() -> int:
    """``[Monitoring]max_file_watches``, or half the kernel's per-user limit (at most 65536) for 0."""
    configured = int(config.monitoring_option("max_file_watches"))
    if configured > 0:
        return configured
    kernel = _kernel_watches()
    return min(65536, kernel // 2) if kernel else 8192


@functools.lru_cache(maxsize=1)
def _kernel_watches() -> int | None:
    """``fs.inotify.max_user_watches``, read once per process (an administrator's setting)."""
    return max_user_watches()


class FileEvents:
    """The watches of active jobs' output directories and the polls their events ask for."""

    def __init__(self, registry_slice: Any, runner: SchedulerRunner, clock: Clock,
                 poll: Callable[[Operation, str, list[Any]], None], enabled: Callable[[], bool]) -> None:
        self.registry_slice = registry_slice
        self.runner = runner
        self.clock = clock
        self.poll = poll
        """``poll(op, backend, jobs)``: those jobs polled through their backend's driver (``Polling.poll_changed``)."""
        self.enabled = enabled
        self.changed = ChangedJobs()
        self.watcher = DirectoryWatcher([STATUS_FILE, CONDOR_LOG], self._on_change, watch_limit(),
                                        group=_backend_of)
        self.condor = CondorLogs()
        """The event logs of the Condor jobs watched (``integration/condor_events.py``)."""
        self._fs_by_device: dict[int, str] = {}
        self._said: set[str] = set()
        self._never: set[tuple[str, JobKey]] = set()
        """Active jobs whose output directory's file system raises no events: not looked at again until final."""
        self._lock = threading.Lock()
        self.ended_by_event: collections.OrderedDict[str, str] = collections.OrderedDict()
        """FQID -> the status a job reached in a poll an event of its status file asked for (newest last)."""
        self.requested = 0
        """Polls asked for by events (before merging)."""
        self._not_watched: dict[tuple[str, JobKey], str] = {}
        """Active jobs not watched -> why (a file system type, a limit); gone when they are final."""

    # -- watches -------------------------------------------------------------------

    def on_status(self, job: Any, status: str) -> None:
        """Status listener (every job): watch a job of a watched backend while it is active."""
        if status in POLLED_STATES:
            self.watch(job)
        elif status in FINAL:
            self._unwatch(job)

    def watch(self, job: Any, look: bool = True) -> None:
        """Watch ``job``'s output directory if its backend writes a status file there and events arrive.

        ``look``: if the status file was written before the watch began, its job is polled once.
        """
        raw = stripProxy(job)
        mode = self._watch_mode(raw.backend)
        if mode is not None:
            self._watch(raw, mode, look)

    def _watch_mode(self, backend: Any) -> str | None:
        """``[Monitoring]file_events`` for jobs of ``backend`` (the watch limit read again), None: not watched."""
        mode = config.monitoring_option("file_events")
        if mode == "off" or not watched_backend(backend):
            return None
        self.watcher.limit = watch_limit()
        return str(mode)

    def _watch(self, raw: Any, mode: str, look: bool) -> None:
        if len(raw.subjobs):
            return  # a master writes no status file
        token = (getName(raw.backend), job_key(raw))
        if self.watcher.watching(token) or token in self._never:
            return
        directory = raw.getOutputWorkspace().getPath()
        if mode == "auto":
            kind = self._fs_type(directory)
            if not fs_types.events_arrive(kind):
                with self._lock:
                    self._never.add(token)  # until it is final: its directory stays where it is
                self._refuse(token, f"its output directory is on {kind or 'an unknown file system'}, whose "
                                    f"changes made on other hosts raise no event here ({directory})")
                return
        try:
            self.watcher.watch(token, directory, writes=token[0] == CONDOR)  # its log: written, not closed
        except WatchRefused as err:
            self._refuse(token, str(err))
            return
        with self._lock:
            self._not_watched.pop(token, None)
        if token[0] == CONDOR:
            self.condor.track(token, directory)
        if registry.job_status(raw) not in POLLED_STATES:
            self._forget(token)  # it ended while the watch was being added
            return
        if look and (token[0] == CONDOR or os.path.exists(os.path.join(directory, STATUS_FILE))):
            self._on_change([token])  # written before the watch began: read it once

    def adopt(self, jobs: list[Any]) -> None:
        """Jobs a poll looked at (active, none a master): those not watched yet are, from now on.

        Jobs a previous session left active, or whose status changed before
        this component listened, are watched from their first poll; the poll
        itself has just read their status files.
        """
        mode = self._watch_mode(stripProxy(jobs[0]).backend) if jobs else None  # one backend per poll
        if mode is None:
            return
        for job in jobs:
            try:
                self._watch(stripProxy(job), mode, look=False)
            except Exception as err:  # noqa: BLE001 - a watch is an optimisation: the job is polled anyway
                log.debug("file events: job %s not watched: %s", getattr(job, "id", "?"), err)

    def _unwatch(self, job: Any) -> None:
        raw = stripProxy(job)
        try:
            token = (getName(raw.backend), job_key(raw))
        except Exception:  # noqa: BLE001 - a job being removed may have lost its backend: nothing was watched
            return
        self._forget(token)
        with self._lock:
            self._never.discard(token)
            self._not_watched.pop(token, None)

    def _forget(self, token: tuple[str, JobKey]) -> None:
        """The watch goes, and a Condor job's log reader."""
        self.watcher.unwatch(token)
        self.condor.forget(token)

    def watched_count(self, backend: str) -> int:
        """How many of ``backend``'s jobs are watched now (0: its jobs' ends come from its polls alone): the
        watcher's count, which follows a watch gone by itself (its directory deleted, or watched again)."""
        return self.watcher.watched_in(backend)

    def _fs_type(self, directory: str) -> str:
        """The file system type of ``directory``, read once per device."""
        try:
            device = os.stat(directory).st_dev
        except OSError:
            return ""
        kind = self._fs_by_device.get(device)
        if kind is None:
            kind = self._fs_by_device[device] = fs_types.fs_type(directory)
        return kind

    @property
    def refused(self) -> collections.Counter[str]:
        """Why active jobs are not watched (polled every interval instead), how many jobs each."""
        with self._lock:
            return collections.Counter(self._not_watched.values())

    def _refuse(self, token: tuple[str, JobKey], reason: str) -> None:
        """A job is not watched: polled every interval as before; each reason said once."""
        head = reason.split(" (")[0]
        with self._lock:
            self._not_watched[token] = head
            first = head not in self._said
            self._said.add(head)
        if first:
            log.info("file events: a job is polled every interval instead of on its status file's change: %s",
                     reason)

    # -- events -> polls -------------------------------------------------------------

    def _on_change(self, tokens: list[Hashable]) -> None:
        """In the watcher's thread: the jobs' status files changed; a poll of them is asked for, per backend."""
        if not self.enabled():
            return
        by_backend: dict[str, set[JobKey]] = {}
        for token in tokens:
            backend, key = cast(tuple[str, JobKey], token)
            if backend == CONDOR and not self.condor.news(token):
                continue  # nothing in its log that moves it (submitted, an image size, a file transfer)
            by_backend.setdefault(backend, set()).add(key)
        window = float(config.monitoring_option("file_event_window"))
        for backend, keys in by_backend.items():
            self.changed.add(backend, keys)
            with self._lock:
                self.requested += 1
            self.runner.submit(file_event_poll(backend, keys, self.clock.now(), window, self._action(backend)))

    def _action(self, backend: str) -> Callable[[Operation], None]:
        def action(op: Operation) -> None:
            keys = self.changed.take(backend)
            jobs, waiting = [], set()
            for key in sorted(keys):
                job = registry.find_job(self.registry_slice, key)
                if job is None or registry.job_status(job) not in POLLED_STATES:
                    continue
                top = job if key.sub is None else registry.find_job(self.registry_slice, JobKey(key.top))
                if top is not None and patches.in_submission(top):
                    waiting.add(key)
                    continue
                jobs.append(job)
            if waiting:
                self.changed.defer(backend, waiting)
            op.job_ids = {key.top for key in keys}
            rows = None
            if backend == CONDOR:
                jobs, rows = self.condor.answers([((backend, job_key(job)), job) for job in jobs])
            if not jobs:
                return
            try:
                if rows is None:
                    self.poll(op, backend, jobs)
                else:
                    with answering(rows):  # Ganga's Condor update asks its logs, not the schedd (patches item 23)
                        self.poll(op, backend, jobs)
            except Exception:
                self.changed.add(backend, {job_key(j) for j in jobs
                                           if registry.job_status(j) in POLLED_STATES})  # for its retry
                raise
            finally:
                self._note_ended(jobs)
        return action

    def _note_ended(self, jobs: list[Any]) -> None:
        with self._lock:
            for job in jobs:
                status = registry.job_status(job)
                if status not in POLLED_STATES:
                    fqid = job.getFQID(".")
                    self.ended_by_event[fqid] = status
                    self.ended_by_event.move_to_end(fqid)
            while len(self.ended_by_event) > ENDED_KEPT:
                self.ended_by_event.popitem(last=False)

    def submission_ended(self, job: Any) -> None:
        """Submission listener: events of the job's subjobs that came during its ``submit()`` are polled now."""
        raw = stripProxy(job)
        if raw._getParent() is not None:
            return
        released = self.changed.release(raw.id)
        if not released or not self.enabled():
            return
        for backend, keys in released.items():
            self.runner.submit(file_event_poll(backend, keys, self.clock.now(), 0.0, self._action(backend)))

    # -- the end --------------------------------------------------------------------

    def watches(self) -> int:
        return len(self.watcher)

    def snapshot(self) -> FileEventsSnapshot:
        with self._lock:
            not_watched = dict(collections.Counter(self._not_watched.values()))
            return FileEventsSnapshot(self.watches(), len(self.ended_by_event), not_watched)

    def stop(self) -> None:
        """Every watch removed and the thread ended (idempotent)."""
        self.watcher.stop()
