"""The one place where Ganga classes are patched; every patch is undone by :func:`remove`.

1. ``MonitoringService.AsyncMonitoringService`` is replaced by our
   component class.  ``GangaCore.Core.bootstrap`` imports it inside the
   function, so the swap must happen before bootstrap: the runtime
   package's ``standardSetup()`` calls :func:`apply` on every Ganga start.
2. ``Job.status`` (a Ganga ``Descriptor``) is swapped for a watching copy so that every status
   change of a top-level job is reported to our active-job index.  Ganga
   offers no status-change hook, and without one the only alternative is
   the stock full-registry scan this package exists to remove.
3. ``ThreadPoolQueueMonitor`` (the class of Ganga's ``queues`` object, built
   by ``startUpQueues`` after the runtime packages' setup) is replaced by
   ``compat.queues.MonitoringQueues``, a subclass that keeps every stock
   method and also shows what monitoring does.
4. User actions that want a job's output now — ``Job.peek`` and every
   backend's ``getOutput*`` methods (Dirac's ``getOutputSandbox``, ...) — are
   wrapped so that they first tell our listeners, which move that job's
   waiting monitoring work to the front.  Backends are only all known once
   every runtime package has loaded, so :func:`hook_user_actions` runs when
   the component starts, not in :func:`apply`.

5. The CPU-heavy postprocessors — ``TextMerger.mergefiles`` and
   ``FileChecker.check`` — run their file work in the component's worker
   processes (``drivers.heavy``: plain paths in, plain results out), so a
   merge of many outputs does not hold the GIL against the prompt.  The
   decision (which files, fail or not) stays in Ganga's process.
   :func:`offload_postprocessing` installs them when the component starts.

6. ``sys._current_frames`` (not Ganga's, but called by Ganga's stack tracer,
   a thread every Ganga session starts, every 5 s) runs with the garbage
   collector off, on CPython before 3.12.  There, a collection that starts
   inside that call can deadlock the whole process (CPython gh-106883:
   the call holds the interpreter's thread-list lock, and a finalizer run
   by the collection may need it, or let a thread that needs it take the
   GIL).  Seen twice in a 5,000-job benchmark: every thread waiting for
   the GIL, Ganga's tracer inside ``gc_collect_main`` under
   ``_PyThread_CurrentFrames``, the session frozen for good.  CPython 3.12
   fixed it the same way.  :func:`guard_current_frames` installs it (also
   with ``use_stock_monitoring``: the freeze is nobody's monitoring).

7. ``Job.submit`` and ``Job.resubmit`` note the job while they run
   (:func:`in_submission`).  Ganga's submit sets an unsplit job
   ``submitted`` twice: once in ``IBackend.master_submit``, once more
   before it returns; a monitor that polls in between (stock's 2 s scan,
   our first poll) may already have moved it to ``running`` or
   ``completing``, and the second ``submitted`` undoes that (seen under
   load: a job completing, then ``submitted`` again, then finalised anew).
   The component leaves a job alone until its submit has returned.

8. ``Descriptor.__get__`` (every attribute read of every Ganga object)
   returns a value already in the object's ``_data`` without taking the
   root object's lock.  Stock takes the master job's lock for every read,
   the same lock Ganga's registry flusher holds while it saves all of a
   master's dirty subjobs (seconds at thousands of subjobs): the prompt's
   ``j.status`` waited for a whole flush (REPOSITORY_NOTES §1; Ganga's own
   comment at ``Registry.py:169`` intends "no changes occur while flushing
   though reads can").  A dict read is atomic, so the value read is one a
   writer stored whole.  A component object (a ``Node``) is returned
   lock-free only once its parent is set (a writer attaches it after
   storing it); anything else — a getter, a lazy load from disk, the index
   cache, a default — takes the stock, locked path.  Writes are unchanged.
   :func:`lock_free_reads` installs it when the component starts.

9. ``Job.force_status`` of a master job also forces its subjobs that are
   still ``submitted``, ``running`` or ``completing`` (Ganga forced the
   master alone: no longer active, it was never polled again, and its
   subjobs showed ``running`` for ever).  Installed with item 7.

10. ``GangaCore.Utility.logging.getLogger()`` called without a name
    returns the logger it found for the calling file before.  Ganga names
    such a logger after the caller's file: ``os.path.realpath`` of it and
    of every ``sys.path`` entry, a dozen ``lstat`` calls, each one a GIL
    release and re-acquisition, and Ganga's cache of the result is skipped
    for exactly this call (``modulename`` unset).  Ganga makes this call in
    ``CompositeMonitoringService.__init__``, built anew for every status
    change of every job: under monitoring load each paid the GIL
    re-acquisitions behind busy threads, ~7 ms a status change in a 3,000-
    subjob burst.  The name, and so the logger, depends only on the
    caller's file and ``modulename``; calls with a name are unchanged.
    :func:`cached_logger_names` installs it when the component starts.

11. A flush of a split job costs what changed (``compat/flush.py``):
    ``JobRegistry.getIndexCache`` of a subjob, while
    ``SubJobXMLList.write_subJobIndex`` runs, returns the entry it computed
    for that subjob before unless the subjob was saved since (``safe_save``
    of ``GangaRepositoryXML`` forgets it first), and the ``stat`` of its
    data file likewise (the ctime Ganga stamps on each entry); and
    ``SubJobXMLList.flush`` clears the dirty flags of the subjobs it saved
    (Ganga never did for a master loaded from disk, so each flush rewrote
    every subjob changed since the session began).  ``subjobs.idx`` is
    written under a temp name and renamed over the old one
    (``flush.AtomicFile``, through the ``open`` of Ganga's ``SubJobXMLList``
    module while ``write_subJobIndex`` runs): Ganga rewrote it in place, so
    a flush killed or failing inside that write left a truncated index.
    Files written are the same as stock's.  :func:`flush_costs_what_changed`
    installs it when the component starts.

12. Ganga's stack tracer (``GangaCore.Utility.stacktracer``, a thread every
    session starts) writes the stacks of all threads to
    ``<gangadir>/thread_trace.html`` every 5 s, each coloured by pygments'
    traceback lexer: ~2.5 ms of GIL per thread each time, so its cost grows
    with the threads a session runs (stock ~10, ours ~25: ~60 ms every 5 s,
    2-3 % of the GIL in a 3,000-subjob burst).  ``highlight_trace`` writes
    the same text HTML-escaped in ``<pre>``, uncoloured (~0.2 ms a thread):
    the file shows the same stacks.  :func:`plain_stack_traces` installs it
    when the component starts.

13. Ganga's flusher held a master's lock for the whole flush of the master,
    and every writer of the master or of a subjob takes that lock: a
    monitoring worker's ``updateStatus`` or the user's ``j.kill()`` waited
    for all of it (seconds at thousands of changed subjobs).  Within
    ``Registry.flush_all``, before each subjob save (``safe_save``, item
    11's wrapper), a lock held longer than ``HELD_LOCK.budget`` (5 ms) and
    held by the flush alone is let go for a moment and taken back; subjobs
    changed meanwhile (noted by ``Node._setDirty``) are saved again before
    the subjob index is written (``write_subJobIndex``, item 11's wrapper),
    so the flush ends with every subjob saved as it is (``compat/flush.py``,
    ``HeldLock``).  :func:`bounded_lock_holds` installs it when the component
    starts.

14. Ganga's XML writer (``VStreamer.to_file``, every job and subjob a
    flush saves) prints each line of a job's XML with one or more
    ``print`` calls into a ``StringIO``, a few hundred per subjob and about
    a third of each save's time, holding the GIL in the flusher's thread.
    ``compat/xml_writer.py`` writes the same bytes from a list of strings
    joined once; the walk of the object tree stays Ganga's.  Files are
    stock's, byte for byte.  :func:`fast_xml_saves` installs it when the
    component starts.

15. Ganga's ``JobRegistrySlice.__init__`` reads the ``[Display]`` options
    of the ``jobs`` listing and evaluates two of them with ``eval`` (column
    functions, status colours) each time, and ``JobRegistry.getIndexCache``
    builds one such slice for every index entry, so for every subjob of
    every flushed master: half of an entry's cost, 6 % of the GIL in a
    compatibility-path burst.  A slice is now made from the state the
    first construction left for the same option values
    (``compat/display.py``, ``SliceTemplates``); a changed option builds
    afresh.  :func:`slices_from_templates` installs it when the component
    starts.

16. A flush of a split master no longer redoes the master's own O(N)
    work each time.  Ganga's ``GangaRepositoryLocal.flush`` of a job
    computed the job's index entry three times, each walking every
    subjob's status: within one flush it is computed once
    (``flush.RootEntries``, through item 11's ``getIndexCache`` wrapper).
    For a master made in this session, Ganga builds a temporary
    ``SubJobXMLList`` that read and unpickled the old ``subjobs.idx`` it
    never uses (it writes every entry from the subjobs in memory): while
    ``_safe_flush_xml`` flushes such a master, ``load_subJobIndex`` leaves
    the list's index empty.  And the XML of a top-level job's splitter and
    dataset (a split master's arguments: one per subjob) is kept while the
    component stays clean and written from there (``xml_writer.
    ComponentTexts``, through item 14's writer).  The subjob count of a
    master loaded from disk (``SubJobXMLList.__len__``) is kept once found:
    Ganga counted the numbered directories anew (a ``stat`` each) whenever
    the job directory's ctime had moved, which every flush makes it do, and
    its flush asks for the count once per directory entry.  The count
    changes only through ``appendJobs`` (which forgets it); a count of 0 is
    never kept.  Files are stock's.  :func:`master_work_once` installs it
    when the component starts.

17. ``Job.getSubJobStatuses`` (the set of a master's subjob statuses,
    read by ``updateMasterJobStatus`` after every status change of every
    subjob) is answered from counts kept per master (``compat/rollup.py``,
    ``SubjobStatuses``) instead of reading all N subjobs' statuses: a split
    job's life made O(N²) reads, a third of the GIL of a 6,000-subjob
    ``submit()`` and again for each state every compatibility-path backend
    reports.  The counts are built by one scan under the master's lock and
    kept exact by a listener on item 2's status watch.  A master whose
    subjobs are a ``SubJobJsonList`` (Ganga's database repository) keeps
    Ganga's own answer.  :func:`subjob_statuses_counted` installs it when
    the component starts.

:func:`remove` runs when the component stops (Ganga never calls a runtime
package's ``shutdown()``) and at interpreter exit.
"""

from __future__ import annotations

import atexit
import builtins
import copy
import functools
import gc
import html
import logging
import os
import sys
import threading
from typing import Any
from collections.abc import Callable

from . import current, display, flush, rollup
from .._core.pools import PoolsClosed
from .._core.weak import PerObject

StatusListener = Callable[[Any, str], None]
UserActionListener = Callable[[Any, str], None]  # (job, "peek" / "getOutputSandbox" / ...)

log = logging.getLogger("GangaMonitoring.patches")

_lock = threading.RLock()
_frames_lock = threading.Lock()
_status_listeners: list[StatusListener] = []
_any_status_listeners: list[StatusListener] = []
"""Told of subjobs' changes too (not only top-level jobs')."""
_user_action_listeners: list[UserActionListener] = []
_wrapped_actions: list[tuple[Any, str, Any]] = []
"""The ledger: (class or module, name, what it was) for every patch installed, undone newest first."""


def _watching(original: Any) -> Any:
    """A copy of Job's ``status`` descriptor whose ``__set__`` also tells our listeners.

    The copy's class derives from the descriptor's own class, so reading a
    status (Ganga does it constantly) runs exactly Ganga's code, with no extra
    call; only setting it is extended.  The listener runs in the thread that
    changed the status while Ganga holds the job's lock, so listeners must be
    quick and must not take a job lock themselves.
    """
    base = type(original)

    def __set__(self: Any, obj: Any, value: Any, *args: Any) -> None:  # noqa: N807 - the descriptor protocol
        base.__set__(self, obj, value, *args)
        if not (_status_listeners or _any_status_listeners):
            return
        listeners = list(_any_status_listeners)
        if obj._getParent() is None:
            listeners += _status_listeners
        if listeners:
            status = obj._data.get("status")
            for listener in listeners:
                try:
                    listener(obj, status)
                except Exception:  # a listener bug must never break Ganga's state change
                    log.exception("status listener %r failed", listener)

    watch_class = type("StatusWatch", (base,), {"__set__": __set__, "__module__": __name__, "__slots__": ()})
    watch = copy.copy(original)
    watch.__class__ = watch_class
    return watch


def _is_watch(descriptor: Any) -> bool:
    return type(descriptor).__name__ == "StatusWatch" and type(descriptor).__module__ == __name__


def apply(component_class: type) -> None:
    """Install the patches (idempotent)."""
    from GangaCore.Core.GangaThread.WorkerThreads import ThreadPoolQueueMonitor as queues_module
    from GangaCore.Core.MonitoringComponent import MonitoringService
    from GangaCore.GPIDev.Lib.Job.Job import Job

    from .queues import MonitoringQueues

    with _lock:
        _wrap(queues_module, "ThreadPoolQueueMonitor", lambda _stock: MonitoringQueues)
        _wrap(MonitoringService, "AsyncMonitoringService", lambda _stock: component_class)
        current.set_component_class(component_class)
        if not _is_watch(Job.__dict__["status"]):
            _wrap(Job, "status", _watching)
    guard_current_frames()


def remove() -> None:
    """Undo the patches (idempotent): every entry of the ledger, newest first."""
    unguard_current_frames()
    with _lock:
        _status_listeners.clear()
        _any_status_listeners.clear()
        _unwrap_methods()
        SUBJOB_STATUSES.clear()


def guard_current_frames() -> None:
    """Make ``sys._current_frames`` run with the garbage collector off (idempotent; see item 6).

    Its own entry of the ledger: it is also installed under stock monitoring, and undone alone."""
    if sys.version_info >= (3, 12):
        return
    with _lock:
        _wrap(sys, "_current_frames", _without_gc)


def _without_gc(original: Any) -> Any:
    @functools.wraps(original)
    def current_frames_without_gc() -> dict[int, Any]:
        # one caller at a time, so that one caller switching the collector
        # back on cannot fall inside another's call
        with _frames_lock:
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                return original()
            finally:
                if was_enabled:
                    gc.enable()

    current_frames_without_gc.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return current_frames_without_gc


def unguard_current_frames() -> None:
    with _lock:
        _unwrap(sys, "_current_frames")


def _announcing(original: Any, name: str) -> Any:
    """``original`` wrapped so that listeners hear of the call before it runs."""
    @functools.wraps(original)
    def announce_then_run(self: Any, *args: Any, **kwargs: Any) -> Any:
        job = self if name == "peek" else _job_of_backend(self)
        if job is not None:
            for listener in list(_user_action_listeners):
                try:
                    listener(job, name)
                except Exception:  # a listener bug must never break the user's action
                    log.exception("user-action listener %r failed", listener)
        return original(self, *args, **kwargs)

    announce_then_run.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return announce_then_run


def _job_of_backend(backend: Any) -> Any | None:
    try:
        return backend.getJobObject()
    except Exception:  # noqa: BLE001 - a backend not attached to a job
        return None


def _user_action_methods() -> list[tuple[type, str]]:
    from GangaCore.GPIDev.Lib.Job.Job import Job
    from GangaCore.Utility.Plugin import allPlugins

    methods: list[tuple[type, str]] = [(Job, "peek")]
    for backend_class in allPlugins.allClasses("backends").values():
        for name, member in vars(backend_class).items():
            if name.startswith("getOutput") and callable(member):
                methods.append((backend_class, name))
    return methods


_in_submission: dict[int, int] = {}
"""id() of a Job object whose submit() or resubmit() runs -> how many such calls run."""


def _noting_submission(original: Any) -> Any:
    @functools.wraps(original)
    def submit(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = id(self)
        with _lock:
            _in_submission[key] = _in_submission.get(key, 0) + 1
        try:
            return original(self, *args, **kwargs)
        finally:
            with _lock:
                left = _in_submission.pop(key) - 1
                if left:
                    _in_submission[key] = left

    submit.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return submit


def _forcing_subjobs_too(original: Any) -> Any:
    @functools.wraps(original)
    def force_status(self: Any, status: Any, force: bool = False) -> Any:
        result = original(self, status, force)
        if status is not None and self.master is None and self.status == status:
            _force_active_subjobs(self, status)
        return result

    force_status.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return force_status


def _force_active_subjobs(master: Any, status: str) -> None:
    try:
        subjobs = list(master.subjobs) if len(master.subjobs) else []
    except Exception:  # noqa: BLE001 - a master whose subjobs cannot be read: leave them
        log.warning("job %s: its subjobs could not be read to force them %s", master.id, status)
        return
    forced = []
    for sub in subjobs:
        if sub.status in ("submitted", "running", "completing"):
            try:
                sub.updateStatus(status, update_master=False, ignore_failures=True)
            except Exception as err:  # noqa: BLE001 - Ganga's state graph may refuse one: say so, go on
                log.warning("subjob %s could not be forced %s: %s", sub.getFQID("."), status, err)
                continue
            forced.append(sub.id)
    if forced:
        log.info("job %s forced %s: so were its %d active subjob(s)", master.id, status, len(forced))


def in_submission(job: Any) -> bool:
    """Is ``job`` (a raw Job) being submitted or resubmitted right now?"""
    return id(job) in _in_submission


def _reading_without_lock(locked_get: Any) -> Any:
    from GangaCore.GPIDev.Base.Objects import Node

    is_node: dict[type, bool] = {}
    """type -> is it a ``Node``: ``isinstance`` against Ganga's abstract ``Node`` runs ``ABCMeta``'s
    Python-level check, on every read (about 2 % of the GIL of a compatibility-path burst); Ganga
    registers no virtual subclasses of it, so a type's answer never changes."""

    @functools.wraps(locked_get)
    def get(self: Any, obj: Any, cls: Any) -> Any:
        if obj is not None and not self._getter_name:
            data = getattr(obj, "_data_dict", None)
            if data is not None:
                value = data.get(self._name, _MISSING)
                if value is not _MISSING:
                    kind = type(value)
                    node = is_node.get(kind)
                    if node is None:
                        node = is_node[kind] = issubclass(kind, Node)
                    if not node or value._parent is obj:
                        return value
        return locked_get(self, obj, cls)

    get.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return get


_MISSING = object()


def _wrap(owner: Any, name: str, make: Callable[[Any], Any], shadowed: Any = None) -> None:
    """Replace ``owner.name`` (a class's or a module's own) by ``make(current)``, recorded for :func:`remove`.

    A name ``owner`` does not have of its own (a module using the builtin
    ``open``) is given one, ``make(shadowed)``, and deleted again at remove.
    Idempotent: a function already wrapped (``__gm_wrapped__``), or a name already in the ledger, is
    left.  Call with ``_lock`` held.
    """
    current = vars(owner).get(name, _ABSENT) if shadowed is not None else vars(owner)[name]
    if getattr(current, "__gm_wrapped__", False) or _is_wrapped(owner, name):
        return
    _wrapped_actions.append((owner, name, current))
    setattr(owner, name, make(shadowed if current is _ABSENT else current))


def _is_wrapped(owner: Any, name: str) -> bool:
    """Is ``owner.name`` in the ledger?  Call with ``_lock`` held."""
    return any(wrapped is owner and wrapped_name == name for wrapped, wrapped_name, _ in _wrapped_actions)


def _unwrap(owner: Any, name: str) -> None:
    """Undo ``owner.name``'s entry of the ledger alone, if it has one.  Call with ``_lock`` held."""
    for index in range(len(_wrapped_actions) - 1, -1, -1):
        wrapped, wrapped_name, original = _wrapped_actions[index]
        if wrapped is owner and wrapped_name == name:
            del _wrapped_actions[index]
            _restore(owner, name, original)
            return


_ABSENT = object()
"""In the ledger: the name was not the owner's own before it was wrapped."""


def lock_free_reads() -> None:
    """Install item 8 (idempotent; undone by remove)."""
    from GangaCore.GPIDev.Base.Objects import Descriptor

    with _lock:
        _wrap(Descriptor, "__get__", _reading_without_lock)


INDEX_MEMO = flush.IndexMemo()
"""Subjob index entries kept between flushes (item 11); its counters show what it saved."""
STAT_MEMO = flush.StatMemo()
"""Subjob data files' ``os.stat`` kept between flushes (item 11)."""
_index_writing = flush.IndexWriting()
HELD_LOCK = flush.HeldLock()
"""Bounded holds of a master's lock by the registry flusher (item 13); its counters show the yields."""
ROOT_ENTRIES = flush.RootEntries(generation=lambda: HELD_LOCK.yields)
"""Top-level jobs' index entries, once per flush (item 16): a yield of a bounded hold starts afresh."""
SUBJOB_STATUSES = rollup.SubjobStatuses()
"""Per master, its subjobs' statuses counted (item 17); its counters show the scans and changes."""
SUBJOB_COUNTS: PerObject[int] = PerObject()
"""The subjob counts of masters loaded from disk (item 16)."""


def flush_costs_what_changed() -> None:
    """Install item 11 (idempotent; undone by remove)."""
    import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml
    from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList
    from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistry

    subjob_list_module = sys.modules[SubJobXMLList.__module__]
    with _lock:
        if not getattr(vars(JobRegistry)["getIndexCache"], "__gm_wrapped__", False):
            INDEX_MEMO.clear()  # entries of a session before, saved while nothing forgot them
            STAT_MEMO.clear()
        for owner, name, wrap in ((repository_xml, "safe_save", _forgetting_saved),
                                  (subjob_list_module, "stat", _remembering_stats),
                                  (SubJobXMLList, "write_subJobIndex", _writing_index),
                                  (SubJobXMLList, "flush", _clearing_saved_flags),
                                  (JobRegistry, "getIndexCache", _remembering_entries)):
            _wrap(owner, name, wrap)
        _wrap(subjob_list_module, "open", _index_written_whole, shadowed=builtins.open)


_faster_writers: dict[Any, Any] = {}
"""Item 14: Ganga's writer function -> ours, used by item 11's ``safe_save`` wrapper while installed."""


def fast_xml_saves() -> None:
    """Install item 14 (idempotent; undone by remove).  Acts through item 11's ``safe_save`` wrapper
    (each repository bound Ganga's writer when it was made) and Ganga's ``VStreamer.to_file``
    (which ``SubJobXMLList`` imports when it saves)."""
    import GangaCore.Core.GangaRepository.VStreamer as vstreamer

    from . import xml_writer

    def ours(stock_to_file: Any) -> Any:
        _faster_writers[stock_to_file] = xml_writer.to_file
        return xml_writer.to_file

    with _lock:
        _wrap(vstreamer, "to_file", ours)


SLICE_TEMPLATES: display.SliceTemplates | None = None
"""Item 15's templates of job slices (its counters show how many were copied); set when installed."""


def slices_from_templates() -> None:
    """Install item 15 (idempotent; undone by remove)."""
    from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice
    from GangaCore.Utility.Config import getConfig

    global SLICE_TEMPLATES
    with _lock:
        if getattr(vars(JobRegistrySlice)["__init__"], "__gm_wrapped__", False):
            return
        display_config = getConfig("Display")
        templates = SLICE_TEMPLATES = display.SliceTemplates(lambda option: display_config[option])

        def made_from_templates(construct: Any) -> Any:
            @functools.wraps(construct)
            def __init__(self: Any, name: str) -> None:  # noqa: N807 - the constructor it stands in for
                templates.init(construct, self, name)

            __init__.__gm_wrapped__ = True  # type: ignore[attr-defined]
            return __init__

        _wrap(JobRegistrySlice, "__init__", made_from_templates)


def bounded_lock_holds() -> None:
    """Install item 13 (idempotent; undone by remove).  Needs item 11's wrappers of ``safe_save``
    and ``write_subJobIndex`` (installed by :func:`flush_costs_what_changed`) to act."""
    from GangaCore.Core.GangaRepository.Registry import Registry
    from GangaCore.GPIDev.Base.Objects import Node
    from GangaCore.GPIDev.Lib.Job.Job import Job

    with _lock:
        _wrap(Registry, "flush_all", _bounding_holds)
        _wrap(Node, "_setDirty", functools.partial(_noting_changes, Job))


def _forgetting_saved(safe_save: Any) -> Any:
    @functools.wraps(safe_save)
    def save(fn: Any, _obj: Any, *args: Any, **kwargs: Any) -> Any:
        obj = getattr(_obj, "_impl", _obj)
        if obj._getParent() is not None and (HELD_LOCK.active or HELD_LOCK.noting):  # a subjob (item 13)
            root = obj._getRoot()
            HELD_LOCK.yield_to_writers(root, root._lock)
            HELD_LOCK.saving(root, obj)
        INDEX_MEMO.forget(obj)
        STAT_MEMO.forget(str(fn))
        if args and args[0] in _faster_writers:  # item 14: Ganga's XML writer, as the repository bound it
            args = (_faster_writers[args[0]], *args[1:])
        return safe_save(fn, _obj, *args, **kwargs)

    save.lock = safe_save.lock  # type: ignore[attr-defined]  # Ganga's callers use safe_save.lock
    save.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return save


def _remembering_stats(os_stat: Any) -> Any:
    @functools.wraps(os_stat)
    def stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        if _index_writing.active and isinstance(path, str) and not args and not kwargs:
            return STAT_MEMO.stat(path)
        return os_stat(path, *args, **kwargs)

    stat.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return stat


def _writing_index(write: Any) -> Any:
    @functools.wraps(write)
    def write_subJobIndex(self: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - Ganga's name
        _saving_noted(self)
        outer = _index_writing.active
        _index_writing.active = True
        try:
            return write(self, *args, **kwargs)
        finally:
            _index_writing.active = outer

    write_subJobIndex.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return write_subJobIndex


SUBJOB_INDEX = "subjobs.idx"
"""The name Ganga gives a master's index of its subjobs (``SubJobXMLList._subjob_master_index_name``)."""


def _index_written_whole(builtin_open: Any) -> Any:
    """Ganga's ``SubJobXMLList`` opens ``subjobs.idx`` and rewrites it in place: a flush killed, or a
    pickling error, half-way left a truncated index.  Opened for writing within
    ``write_subJobIndex``, it is now an :class:`flush.AtomicFile`."""
    @functools.wraps(builtin_open)
    def open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:  # noqa: A001 - shadows it there
        if (_index_writing.active and mode == "wb" and not args and not kwargs and isinstance(file, str)
                and os.path.basename(file) == SUBJOB_INDEX):
            return flush.AtomicFile(file, mode)
        return builtin_open(file, mode, *args, **kwargs)

    open.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return open


def _saving_noted(subjobs: Any) -> None:
    """Save again the subjobs changed while a bounded flush let their master's lock go (item 13)."""
    master = subjobs._getParent()
    if master is None:
        return
    import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml
    from GangaCore.Core.GangaRepository.VStreamer import to_file

    with HELD_LOCK.held():  # from here to the flush's end the lock is held: nothing more to note
        for subjob in HELD_LOCK.take_noted(master):
            if subjob._dirty and subjob._getParent() is not None:
                data_file = subjobs._SubJobXMLList__get_dataFile(str(subjob.id))
                repository_xml.safe_save(data_file, subjob, to_file)
                subjob._setFlushed()


def _bounding_holds(flush_all: Any) -> Any:
    @functools.wraps(flush_all)
    def bounded_flush_all(self: Any, *args: Any, **kwargs: Any) -> Any:
        with HELD_LOCK.bounded():
            return flush_all(self, *args, **kwargs)

    bounded_flush_all.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return bounded_flush_all


def _noting_changes(job_class: Any, set_dirty: Any) -> Any:
    @functools.wraps(set_dirty)
    def _setDirty(self: Any) -> None:  # noqa: N802 - Ganga's name
        set_dirty(self)
        if HELD_LOCK.noting and isinstance(self, job_class) and self._getParent() is not None:
            HELD_LOCK.note(self._getRoot(), self)

    _setDirty.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return _setDirty


def _remembering_entries(get_index_cache: Any) -> Any:
    @functools.wraps(get_index_cache)
    def getIndexCache(self: Any, obj: Any) -> Any:  # noqa: N802 - Ganga's name
        if not _index_writing.active:
            if ROOT_ENTRIES.active and obj._getParent() is None:  # item 16
                return ROOT_ENTRIES.entry(obj, functools.partial(get_index_cache, self))
            return get_index_cache(self, obj)
        entry = INDEX_MEMO.get(obj)
        if entry is None:
            entry = get_index_cache(self, obj)
            INDEX_MEMO.put(obj, entry)
        return entry

    getIndexCache.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return getIndexCache


def _clearing_saved_flags(flush_subjobs: Any) -> Any:
    @functools.wraps(flush_subjobs)
    def flush(self: Any, *args: Any, **kwargs: Any) -> Any:
        dirty = [subjob for subjob in list(self._cachedJobs.values()) if subjob._dirty]
        result = flush_subjobs(self, *args, **kwargs)
        for subjob in dirty:  # saved whole above, under the master's lock: nothing changed since
            subjob._setFlushed()
        return result

    flush.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return flush


def master_work_once() -> None:
    """Install item 16 (idempotent; undone by remove).  Acts through item 11's ``getIndexCache``
    wrapper and item 14's XML writer."""
    from GangaCore.Core.GangaRepository.GangaRepositoryXML import GangaRepositoryLocal
    from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList

    from . import xml_writer

    with _lock:
        if not getattr(vars(GangaRepositoryLocal)["flush"], "__gm_wrapped__", False):
            xml_writer.COMPONENT_TEXTS.clear()
            SUBJOB_COUNTS.clear()
        _wrap(GangaRepositoryLocal, "flush", _entries_once)
        _wrap(GangaRepositoryLocal, "_safe_flush_xml", _noting_unread_index)
        _wrap(SubJobXMLList, "load_subJobIndex", _reading_index_when_used)
        _wrap(SubJobXMLList, "__len__", _counting_once)
        _wrap(SubJobXMLList, "appendJobs", _forgetting_count)


def _entries_once(repository_flush: Any) -> Any:
    @functools.wraps(repository_flush)
    def flush(self: Any, *args: Any, **kwargs: Any) -> Any:
        with ROOT_ENTRIES.flushing():
            return repository_flush(self, *args, **kwargs)

    flush.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return flush


def _noting_unread_index(safe_flush_xml: Any) -> Any:
    @functools.wraps(safe_flush_xml)
    def _safe_flush_xml(self: Any, this_id: Any) -> Any:
        obj = self.objects.get(this_id)
        subjobs = getattr(obj, self.sub_split, None) if obj is not None else None
        outer = _index_writing.unread_index
        # a master made in this session keeps its subjobs in a list without ``flush``: Ganga then
        # writes its index through a temporary SubJobXMLList, from the subjobs in memory only
        _index_writing.unread_index = bool(subjobs) and not hasattr(subjobs, "flush")
        try:
            return safe_flush_xml(self, this_id)
        finally:
            _index_writing.unread_index = outer

    _safe_flush_xml.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return _safe_flush_xml


def _reading_index_when_used(load: Any) -> Any:
    @functools.wraps(load)
    def load_subJobIndex(self: Any) -> Any:  # noqa: N802 - Ganga's name
        if _index_writing.unread_index:
            self._subjobIndexData = {}
            return None
        return load(self)

    load_subJobIndex.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return load_subJobIndex


def subjob_statuses_counted() -> None:
    """Install item 17 (idempotent; undone by remove).  Needs item 2's status watch (installed by
    :func:`apply`): without it nothing is installed."""
    from GangaCore.GPIDev.Lib.Job.Job import Job

    with _lock:
        if not _is_watch(Job.__dict__.get("status")):
            log.warning("Job.status is not watched: subjob statuses are read from every subjob (as stock)")
            return
        if not getattr(vars(Job)["getSubJobStatuses"], "__gm_wrapped__", False):
            SUBJOB_STATUSES.clear()  # counts of a session before, kept while no listener ran
        add_status_listener(SUBJOB_STATUSES.changed, subjobs=True)
        _wrap(Job, "getSubJobStatuses", _counted_statuses)


def _counted_statuses(get_statuses: Any) -> Any:
    from GangaCore.Core.GangaRepository.SubJobJsonList import SubJobJsonList

    @functools.wraps(get_statuses)
    def getSubJobStatuses(self: Any) -> Any:  # noqa: N802 - Ganga's name
        if isinstance(self.subjobs, SubJobJsonList):
            return get_statuses(self)
        return SUBJOB_STATUSES.statuses(self)

    getSubJobStatuses.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return getSubJobStatuses


def _counting_once(count: Any) -> Any:
    @functools.wraps(count)
    def __len__(self: Any) -> int:  # noqa: N807 - the method it stands in for
        found = SUBJOB_COUNTS.get(self)
        if found is None:
            found = count(self)
            if found:
                SUBJOB_COUNTS.put(self, found)
        return found

    __len__.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return __len__


def _forgetting_count(append_jobs: Any) -> Any:
    @functools.wraps(append_jobs)
    def appendJobs(self: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - Ganga's name
        SUBJOB_COUNTS.forget(self)
        try:
            return append_jobs(self, *args, **kwargs)
        finally:
            SUBJOB_COUNTS.forget(self)

    appendJobs.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return appendJobs


def cached_logger_names() -> None:
    """Install item 10 (idempotent; undone by remove)."""
    import GangaCore.Utility.logging as ganga_logging

    with _lock:
        _wrap(ganga_logging, "getLogger", functools.partial(_caching_unnamed_loggers, ganga_logging))


def _caching_unnamed_loggers(ganga_logging: Any, original: Any) -> Any:
    found: dict[tuple[str, Any], Any] = {}

    @functools.wraps(original)
    def getLogger(name: Any = None, modulename: Any = None) -> Any:  # noqa: N802 - Ganga's name
        # Ganga finds the caller three frames up from its name guesser (guesser, _getLogger,
        # getLogger, caller): this function stands where getLogger stood, so calling
        # _getLogger from here keeps that depth.
        if name is None:
            caller_file = sys._getframe(1).f_globals.get("__file__")
            if isinstance(caller_file, str):
                key = (caller_file, modulename)
                logger = found.get(key)
                if logger is None:
                    logger = found[key] = ganga_logging._getLogger(name, modulename)
                return logger
        return ganga_logging._getLogger(name, modulename)

    getLogger.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return getLogger


def plain_stack_traces() -> None:
    """Install item 12 (idempotent; undone by remove)."""
    from GangaCore.Utility import stacktracer

    with _lock:
        _wrap(stacktracer, "highlight_trace", lambda _coloured: _plain_trace)


def _plain_trace(text: str) -> str:
    return "<pre>" + html.escape(text) + "</pre>"


_plain_trace.__gm_wrapped__ = True  # type: ignore[attr-defined]


def hook_submissions() -> None:
    """Wrap ``Job.submit``, ``Job.resubmit`` (item 7), ``Job.force_status`` (item 9); idempotent, undone by remove."""
    from GangaCore.GPIDev.Lib.Job.Job import Job

    with _lock:
        for name, wrap in (("submit", _noting_submission), ("resubmit", _noting_submission),
                           ("force_status", _forcing_subjobs_too)):
            _wrap(Job, name, wrap)


def hook_user_actions() -> None:
    """Wrap ``Job.peek`` and backends' ``getOutput*`` methods (idempotent; undone by remove)."""
    with _lock:
        for cls, name in _user_action_methods():
            _wrap(cls, name, functools.partial(_announcing, name=name))


ProcessRunner = Callable[..., Any]
_process_runner: list[ProcessRunner] = []


def offload_postprocessing(run_in_process: ProcessRunner) -> None:
    """Make TextMerger and FileChecker do their file work through ``run_in_process`` (idempotent)."""
    from GangaCore.Lib.Checkers.FileChecker import FileChecker
    from GangaCore.Lib.Mergers.Merger import TextMerger

    with _lock:
        _process_runner[:] = [run_in_process]
        for cls, name, replacement in ((TextMerger, "mergefiles", _merge_in_process),
                                       (FileChecker, "check", _check_in_process)):
            _wrap(cls, name, replacement)


def _runner() -> ProcessRunner | None:
    with _lock:
        return _process_runner[0] if _process_runner else None


class _NoWorkers(Exception):
    """The worker processes are gone (the component is stopping): do the work here."""


def _in_worker(fn: Callable[..., Any], *args: Any) -> Any:
    run = _runner()
    if run is None:
        raise _NoWorkers
    try:
        return run(fn, *args)
    except PoolsClosed as err:
        raise _NoWorkers from err


def _merge_in_process(original: Any) -> Any:
    @functools.wraps(original)
    def mergefiles(self: Any, file_list: Any, output_file: Any) -> None:
        from ..drivers import heavy

        # absolute: the worker's working directory is not the prompt's (an IPython `cd`)
        inputs = [os.path.abspath(os.path.expanduser(str(path))) for path in file_list]
        output = os.path.abspath(os.path.expanduser(str(output_file)))
        try:
            merged, pid = _in_worker(heavy.merge_text_files, inputs, output, bool(self.compress))
        except _NoWorkers:
            return original(self, file_list, output_file)
        log.debug("merged %d file(s) into %s in worker process %d", len(inputs), merged, pid)
        return None

    mergefiles.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return mergefiles


def _check_in_process(original: Any) -> Any:
    @functools.wraps(original)
    def check(self: Any, job: Any) -> Any:
        from GangaCore.GPIDev.Adapters.IPostProcessor import PostProcessException

        from ..drivers import heavy

        patterns = [str(p) for p in self.searchStrings]
        if not patterns:  # Ganga's own words: users and logs know them
            raise PostProcessException("No searchStrings specified, FileChecker will do nothing!")
        paths = [os.path.abspath(str(p)) for p in self.findFiles(job)]
        if not paths:
            raise PostProcessException("None of the files to check exist, FileChecker will do nothing!")
        try:
            found, pid = _in_worker(heavy.search_files, paths, patterns)
        except _NoWorkers:
            return original(self, job)
        log.debug("searched %d file(s) of job %s in worker process %d", len(paths), job.fqid, pid)
        for path, hits in zip(paths, found, strict=True):
            for pattern, hit in zip(patterns, hits, strict=True):
                if hit == bool(self.failIfFound):
                    log.info("FileChecker fails job %s: %r %s in %s", job.fqid, pattern,
                             "found" if hit else "not found", path)
                    return self.failure
        return self.result

    check.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return check


def _restore(owner: Any, name: str, original: Any) -> None:
    if original is _ABSENT:
        delattr(owner, name)
    else:
        setattr(owner, name, original)


def _unwrap_methods() -> None:
    while _wrapped_actions:
        _restore(*_wrapped_actions.pop())
    _user_action_listeners.clear()
    _process_runner.clear()
    _faster_writers.clear()


def is_applied() -> bool:
    """Is our component installed as Ganga's (``apply`` ran, ``remove`` did not since)?"""
    with _lock:
        return any(name == "AsyncMonitoringService" for _owner, name, _original in _wrapped_actions)


def add_status_listener(listener: StatusListener, subjobs: bool = False) -> None:
    """``listener(job, status)`` after each status change of a top-level job (``subjobs``: of any job)."""
    with _lock:
        listeners = _any_status_listeners if subjobs else _status_listeners
        if listener not in listeners:
            listeners.append(listener)


def remove_status_listener(listener: StatusListener) -> None:
    with _lock:
        for listeners in (_status_listeners, _any_status_listeners):
            if listener in listeners:
                listeners.remove(listener)


def add_user_action_listener(listener: UserActionListener) -> None:
    with _lock:
        if listener not in _user_action_listeners:
            _user_action_listeners.append(listener)


def remove_user_action_listener(listener: UserActionListener) -> None:
    with _lock:
        if listener in _user_action_listeners:
            _user_action_listeners.remove(listener)


atexit.register(remove)
