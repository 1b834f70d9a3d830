"""Cheap reads of Ganga's job registry, for the index and the drivers.

Stock monitoring reads each job's status through ``lazyLoadJobStatus``,
whose ``Registry.has_loaded`` does a linear ``find``: O(N) per job.  Here a
job's status and backend come straight from its loaded data or its index
cache, which never loads the job from disk, and a job is found by id in the
registry's dict in O(1).
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from collections.abc import Callable, Iterable, Iterator

from GangaCore.GPIDev.Base.Proxy import getName, stripProxy

from ..core.work import JobKey

_backend_names: dict[str, str] = {}


def backend_name_of_class(class_name: str) -> str:
    """The plugin name (``_name``) of a backend class name: ``Localhost`` -> ``Local``.

    The registry's index cache stores class names, while config keys
    (``[PollThread]Local``) and users use plugin names.
    """
    name = _backend_names.get(class_name)
    if name is None:
        from GangaCore.Utility.Plugin import allPlugins

        for plugin_name, cls in allPlugins.allClasses("backends").items():
            _backend_names[cls.__name__] = plugin_name
        name = _backend_names.setdefault(class_name, class_name)
    return name


def job_backend_name(job: Any) -> str | None:
    """The backend plugin name of a top-level job, without loading it from disk."""
    raw = stripProxy(job)
    backend = raw._data.get("backend")
    if backend is not None:
        return getName(backend)
    cached = raw._index_cache.get("display:backend") if isinstance(raw._index_cache, dict) else None
    if cached:
        return backend_name_of_class(cached)
    return getName(raw.backend)  # loads the job: only for jobs with no index cache


def job_status(job: Any) -> str:
    """A job's status from its data or index cache (the descriptor never loads for it)."""
    return stripProxy(job).status


FINAL_STATES = frozenset({"completed", "failed", "killed"})
"""States a job does not leave by itself."""


def load_if_unfinished(job: Any) -> None:
    """Read from disk a job whose index cache says it is not final, if the cache is stale.

    Ganga writes a job's index cache less often than the job itself, so
    after a session was killed the cache can be older than the job: a
    master submitted and running still reads ``new``, and would never be
    monitored again.  Recovery reads such jobs (few: only unfinished jobs
    whose data file is newer than their index); Ganga corrects their cache
    on the way.  Every other job stays unloaded, as Ganga's lazy loading wants.
    """
    raw = stripProxy(job)
    not_loaded = getattr(raw, "_should_load", False)
    if not_loaded and raw.status not in FINAL_STATES and _index_is_stale(raw):
        # Through an attribute Ganga does not cache: its descriptor takes the job's lock and then
        # loads it, the lock order Ganga uses everywhere.  (Calling _loadObject() directly takes the
        # registry's lock first and deadlocks against a user thread reading the same job.)
        _ = raw.backend


def _index_is_stale(raw: Any) -> bool:
    """Whether the job's data file is newer than its index file (a repository with both files)."""
    import os

    repository = getattr(raw._getRegistry(), "repository", None)
    if repository is None or not hasattr(repository, "get_fn") or not hasattr(repository, "get_idxfn"):
        return False
    try:
        data, index = os.stat(repository.get_fn(raw.id)), os.stat(repository.get_idxfn(raw.id))
    except OSError:
        return False
    return data.st_mtime > index.st_mtime + 1.0


def _objects_of(registry: Any) -> Any:
    """The id -> job dict of a Registry or of a registry slice (whose ``.objects`` is the registry)."""
    objects = getattr(registry, "_objects", None)
    if objects is None:
        objects = getattr(registry, "objects", {})
        objects = getattr(objects, "_objects", objects)
    return objects


def iter_top_level_jobs(registry: Any) -> Iterator[tuple[int, Any]]:
    """(id, job) of every job in ``registry`` (a Registry or a registry slice)."""
    yield from list(_objects_of(registry).items())


def list_tracked_jobs(registry: Any, in_submission: Callable[[Any], bool] = lambda _job: False,
                      ) -> Iterator[tuple[int, str, str]]:
    """(id, backend, status) of every job; the index keeps the tracked states.

    A ``submitted`` master whose cached subjob states include ``running`` is
    listed running, as the component tracks it (Ganga leaves such a master
    ``submitted``).  A split master being submitted (``in_submission``) with
    subjobs submitted already is listed ``submitted`` whatever its own status.
    """
    from ..core.index import POLLED_STATES, TRACKED_STATES

    for job_id, job in iter_top_level_jobs(registry):
        try:
            status = job_status(job)
            if status == "submitting" and in_submission(stripProxy(job)) and \
                    POLLED_STATES & set(stripProxy(job).getSubJobStatuses()):
                status = "submitted"
            if status not in TRACKED_STATES:
                continue
            if status == "submitted" and "running" in _cached_subjob_states(job):
                status = "running"
            backend = job_backend_name(job)
        except Exception:  # noqa: BLE001 - a job removed or broken while we read
            continue
        if backend:
            yield job_id, backend, status


def resolve_jobs(registry: Any, job_ids: Iterable[int]) -> list[Any]:
    """The job objects for ``job_ids`` that still exist (removed ones are skipped)."""
    objects = _objects_of(registry)
    jobs = []
    for job_id in job_ids:
        job = objects.get(job_id)
        if job is not None:
            jobs.append(job)
    return jobs


def expand_subjobs(top_jobs: Iterable[Any], states: frozenset[str]) -> tuple[list[Any], list[Any]]:
    """The jobs to monitor among ``top_jobs``, masters replaced by their subjobs in ``states``.

    Returns ``(jobs, masters)``.  A subjob's state comes from memory when it
    is loaded (the subjob cache lags behind until the next flush) and from
    the cache otherwise, so only the subjobs that need it are loaded.
    """
    jobs: list[Any] = []
    masters: list[Any] = []
    for top in top_jobs:
        raw = stripProxy(top)
        subjobs = raw.subjobs
        if not len(subjobs):
            jobs.append(raw)
            continue
        masters.append(raw)
        jobs.extend(stripProxy(subjobs[number]) for number, status in subjob_statuses(raw) if status in states)
    return jobs, masters


def subjob_statuses(master: Any) -> Iterator[tuple[int, str]]:
    """Each subjob's (number, status): from memory where the subjob is loaded, else from Ganga's subjob cache.

    (The cache lags behind a loaded subjob until the next flush; reading it
    loads nothing, so a master's subjobs are loaded only where needed.)
    """
    subjobs = master.subjobs
    get_cache = getattr(subjobs, "getAllCachedData", None)
    cache = get_cache() if get_cache is not None else None
    for number in range(len(subjobs)):
        if cache is not None and not subjobs.isLoaded(number):
            yield number, cache[number].get("status") or "unknown"
        else:
            yield number, subjobs[number].status


def subjob_states(master: Any) -> tuple[Counter[str], list[int]]:
    """(count of subjobs per state, the numbers of the failed subjobs) of a master job."""
    states: Counter[str] = Counter()
    failed = []
    for number, status in subjob_statuses(master):
        states[status] += 1
        if status == "failed":
            failed.append(number)
    return states, failed


def find_job(registry: Any, key: JobKey) -> Any | None:
    """The job (or subjob) for a ``(top id, subjob id)`` key, or None if it was removed."""
    found = resolve_jobs(registry, [key.top])
    if not found:
        return None
    top = stripProxy(found[0])
    if key.sub is None:
        return top
    try:
        return stripProxy(top.subjobs[key.sub])
    except Exception:  # noqa: BLE001 - removed or never had that subjob
        return None


def _cached_subjob_states(job: Any) -> Any:
    """The subjob states Ganga's index cache holds for a master (empty if it holds none)."""
    cache = getattr(job, "_index_cache_dict", None) or {}
    states = cache.get("subjobs:status") if isinstance(cache, dict) else None
    return states or ()


def registry_of(registry_slice: Any) -> Any:
    """The registry a slice (or the registry itself) stands for."""
    return getattr(registry_slice, "objects", registry_slice)


def as_job_list(jobs: Any, registry_slice: Any) -> list[Any]:
    """The jobs of a job, an id, a list of either, or a registry slice (ids not found are left out)."""
    if isinstance(jobs, (int, str)) or hasattr(stripProxy(jobs), "getFQID"):
        jobs = [jobs]
    result = []
    for item in jobs:
        if isinstance(item, int):
            result.extend(resolve_jobs(registry_slice, [item]))
        else:
            result.append(stripProxy(item))
    return result


def top_level_ids(jobs: Iterable[Any]) -> set[int]:
    """The ids of the top-level jobs of ``jobs`` (a subjob stands for its master)."""
    ids = set()
    for job in jobs:
        raw = stripProxy(job)
        master = raw.master
        ids.add((master if master is not None else raw).id)
    return ids


def backend_of_jobs(jobs: list[Any]) -> str | None:
    """The backend name of the first job's top-level job (None: no job, or a job without a backend)."""
    if not jobs:
        return None
    raw = stripProxy(jobs[0])
    top = raw.master if raw.master is not None else raw
    return job_backend_name(top)
