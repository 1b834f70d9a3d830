"""Ganga's job tables (``jobs``, a slice, ``j.subjobs``, the subjobs of a printed master), each row read once.

Ganga's table (``RegistrySlice._display``) reads, for every row and every
column, the row's index entry (``_index_cache``); for a loaded job that entry
is computed whole each time (``JobRegistry.getIndexCache``): every column's
value, and a master's subjob statuses read from every subjob twice (its
``subjob status`` column and the entry's ``subjobs:status``), so a 10-row
``jobs`` table read each subjob behind it 18 times; and each read asked the
registry whether the job is loaded (``Registry.has_loaded``: two walks of the
whole registry, so a table of N plain jobs cost N² steps).  A subjob's
``fqid`` is a getter, which takes its master's lock: the lock the registry
flusher and monitoring's writers hold.

:func:`render` makes the same text, reading each row once:

- a job in memory (a top-level job its registry has loaded; any subjob in
  memory) shows each column's value as it is now, as Ganga's index entry
  computes it (the ``[Display]`` column functions, empty values hidden),
  except that ``fqid`` is made of ids read without a lock, and the
  ``subjob status`` of a split job (when that column is Ganga's default
  function) comes from ``counts_of``, the counted roll-up of its subjobs'
  statuses (``rollup.SubjobStatuses.counts``), never a walk of its subjobs;
- a job not loaded shows its index entry, as Ganga does, and Ganga's own
  fallbacks where the entry lacks a column; so does a subjob of a
  ``SubJobXMLList`` not loaded (the ``subjobs.idx`` entry).

Contract: for the same jobs, the text is Ganga's (header, widths, colours);
values are as fresh as the last status write (the roll-up moves its counts
after every write).  No job lock is taken, except by ``counts_of`` for a master
not counted yet (scanned once, under its lock).  Tables whose rows are
another private display (Ganga's ``SubJobJsonList``) are left to Ganga
(:func:`render` returns None).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from typing import Any

DEFAULT_WIDTH = 10
"""Ganga's width of a column with none configured."""

GANGAS_SUBJOB_STATUS = "lambda j: j.returnSubjobStatuses()"
"""``[Display]jobs_columns_functions['subjob status']`` as Ganga ships it: what :func:`subjob_status` stands for."""

GANGAS_FUNCTIONS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "subjobs": ("lambda j: len(j.subjobs)", lambda j: len(j.subjobs)),
    "application": ("lambda j: j.application.__class__.__name__", lambda j: j.application.__class__.__name__),
    "backend": ("lambda j:j.backend.__class__.__name__", lambda j: j.backend.__class__.__name__),
    "comment": ("lambda j: j.comment", lambda j: j.comment),
}
"""Column -> (its ``[Display]jobs_columns_functions`` source as Ganga ships it, the same function compiled
here): a column whose configured source is that one is computed without Ganga's per-cell overhead."""

CountsOf = Callable[[Any], "Counter[str] | None"]
"""A split job -> how many of its subjobs have each status; None: not counted (the column function runs)."""


def subjob_status(counts: Counter[str]) -> str:
    """The ``subjob status`` column, running/failed/completing/completed, from a master's subjob counts."""
    failed = counts["failed"] + counts["failed_frozen"] + counts["killed"]
    completed = counts["completed"] + counts["completed_frozen"]
    return f"{counts['running']}/{failed}/{counts['completing']}/{completed}"


def render(table: Any, interactive: Any, counts_of: CountsOf, function_sources: dict[str, str]) -> str | None:
    """The text Ganga's ``table._display(interactive)`` makes, read once per row; None when the rows are
    another private display's (left to Ganga).  ``function_sources``: ``[Display]jobs_columns_functions``
    as configured (the source text of each column function)."""
    from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList
    from GangaCore.Utility.ColourText import ANSIMarkup, NoMarkup

    objects = table.objects
    private = hasattr(objects, "_private_display")
    if private and not isinstance(objects, SubJobXMLList):
        return None
    markup = ANSIMarkup() if interactive else NoMarkup()
    columns = tuple(table._display_columns)
    widths = table._display_columns_width
    row_format = "|".join(f"%{widths.get(column, DEFAULT_WIDTH)}s " for column in columns) + "\n"
    reader = _RowReader(table, columns, counts_of, function_sources)
    count = len(table)
    parts = [f"Registry Slice: {table.name} ({count} objects)\n"]
    if count > 0:
        parts += ["--------------\n", row_format % columns,
                  "-" * len(row_format % (("",) * len(columns))) + "\n"]
    rows = reader.subjob_list_rows(objects) if private else reader.rows(table)
    for values, colour in rows:
        parts.append(markup(row_format % tuple(values), colour))
    return "".join(parts)


class _RowReader:
    """Reads the rows of one table: values and colour per row."""

    def __init__(self, table: Any, columns: tuple[str, ...], counts_of: CountsOf,
                 function_sources: dict[str, str]) -> None:
        from GangaCore.GPIDev.Lib.Job.Job import Job
        from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice

        self.table, self.columns, self.counts_of = table, columns, counts_of
        self.widths = table._display_columns_width
        self.job_class = Job
        self.job_types: dict[type, bool] = {}
        self.values = JobRegistrySlice("jobs")  # the slice Ganga's index entry computes values with
        functions = self.values._display_columns_functions
        self.fast_fqid = "fqid" not in functions
        self.counted = function_sources.get("subjob status") == GANGAS_SUBJOB_STATUS
        self.value_getters = _getters(self.values, columns, function_sources)
        self.table_getters = _getters(table, columns, function_sources)
        colour_of = getattr(type(table), "_getColour", None)
        self.colours = table.status_colours if colour_of is JobRegistrySlice._getColour else None

    # -- rows -------------------------------------------------------------------------------------

    def rows(self, table: Any) -> Any:
        """Rows of a registry or a slice (Ganga's generic loop): in memory read now, else the index entry."""
        from GangaCore.Core.GangaRepository.Registry import IncompleteObject
        from GangaCore.GPIDev.Base.Proxy import stripProxy

        objects = table.objects
        for key in table.ids():
            try:
                obj = objects[key]
            except KeyError:  # removed since the ids were read
                continue
            if isinstance(obj, IncompleteObject):
                continue
            obj = stripProxy(obj)
            if self._registry_loaded(obj, key):
                yield self._fresh(obj, missing=None)
            else:
                yield self._from_entry(obj)

    def subjob_list_rows(self, subjobs: Any) -> Any:
        """Rows of a ``SubJobXMLList``: a subjob in memory read now, else its ``subjobs.idx`` entry."""
        index = subjobs._subjobIndexData
        cached = subjobs._cachedJobs
        for number in subjobs.keys():  # noqa: SIM118 - iterating a SubJobXMLList loads its subjobs
            subjob = cached.get(number)
            if subjob is not None:
                yield self._fresh(subjob, missing="Unknown")
                continue
            entry = index.get(number) if number in index else subjobs.getCachedData(number)
            colour = self.table._getColour(entry)
            yield [self._entry_value(entry, column, "Unknown") for column in self.columns], colour

    # -- one row ----------------------------------------------------------------------------------

    def _registry_loaded(self, obj: Any, key: Any) -> bool:
        """Ganga's ``_fullyLoadedFromDisk`` with a registry (``has_loaded``), without walking the registry."""
        if obj._getParent() is not None:
            return False  # a registry holds top-level jobs only: Ganga's has_loaded says False
        registry = obj._registry
        if registry is None:
            return False  # Ganga shows the index entry it has
        loaded = getattr(getattr(registry, "repository", None), "_fully_loaded", None)
        known = getattr(registry, "_objects", None)
        if isinstance(loaded, dict) and isinstance(known, dict) and known.get(key) is obj:
            return loaded.get(key) is obj
        return bool(registry.has_loaded(obj))

    def _fresh(self, job: Any, missing: str | None) -> tuple[list[str], Any]:
        """A job in memory: each column as its index entry computes it now.  ``missing``: shown where a
        column cannot be computed (None: Ganga's table fallbacks)."""
        values = []
        for column in self.columns:
            try:
                value = self._value_now(job, column)
            except Exception:  # noqa: BLE001 - Ganga's index entry leaves such a column out
                value = missing if missing is not None else self._fallback(job, column)
            values.append(value if column == "fqid" else value[:self.widths.get(column, DEFAULT_WIDTH)])
        return values, self._colour(job._data.get("status"), job)

    def _value_now(self, job: Any, column: str) -> str:
        if column == "fqid" and self.fast_fqid:
            fqid = self._fqid(job)
            if fqid is not None:
                return fqid
        elif column == "subjob status" and self.counted and _has_subjobs(job):
            counts = self.counts_of(job)
            if counts is not None:
                return subjob_status(counts)
        getter = self.value_getters.get(column)
        return getter(job) if getter is not None else str(self.values._get_display_value(job, column))

    def _colour(self, status: Any, job: Any) -> Any:
        """The table's ``_getColour`` of a job whose status is ``status`` (a str), or of ``job``."""
        if not isinstance(status, str):
            return self.table._getColour(job)
        if self.colours is not None:
            return self.colours.get(status, self.table.fx.normal)
        return self.table._getColour(status)

    def _is_job(self, kind: type) -> bool:
        """``issubclass(kind, Job)``, remembered: ``isinstance`` against Ganga's abstract classes runs
        ``ABCMeta``'s check in Python each time."""
        known = self.job_types.get(kind)
        if known is None:
            known = self.job_types[kind] = issubclass(kind, self.job_class)
        return known

    def _fqid(self, job: Any) -> str | None:
        """``job.fqid`` from ids in memory (no getter, so no lock); None if an id is not loaded."""
        ids = []
        current = job
        while current is not None:
            data = current._data
            if "id" not in data:
                return None
            ids.append(data["id"])
            parent = current._getParent()
            current = parent if parent is not None and self._is_job(type(parent)) else None
        return ".".join(str(i) for i in reversed(ids))

    def _from_entry(self, job: Any) -> tuple[list[str], Any]:
        """A job not in memory (or a subjob Ganga reads through its empty entry): Ganga's generic row."""
        entry = job._index_cache_dict
        if not isinstance(entry, dict):
            entry = {}
        values = [self._entry_value(entry, column, None, job) for column in self.columns]
        if job._getParent() is not None:  # a subjob in memory: Ganga reads its status, lock-free
            colour = self._colour(job._data.get("status"), job)
        elif "display:status" in entry:
            colour = self._colour(entry["display:status"], job)
        else:
            colour = self.table._getColour(job)
        return values, colour

    def _entry_value(self, entry: Any, column: str, missing: str | None, job: Any = None) -> str:
        key = "display:" + column
        if isinstance(entry, dict) and key in entry:
            value = str(entry[key])
        else:
            value = missing if missing is not None else self._fallback(job, column)
        return value if column == "fqid" else value[:self.widths.get(column, DEFAULT_WIDTH)]

    def _fallback(self, job: Any, column: str) -> str:
        """Ganga's table where an entry lacks a column: computed by the table, ``---`` for subjob status."""
        if column == "subjob status":
            return "---"
        if column == "fqid" and self.fast_fqid:
            fqid = self._fqid(job)
            if fqid is not None:
                return fqid
        getter = self.table_getters.get(column)
        return getter(job) if getter is not None else str(self.table._get_display_value(job, column))


def _has_subjobs(job: Any) -> bool:
    subjobs = job._data.get("subjobs")
    try:
        return subjobs is not None and len(subjobs) > 0
    except Exception:  # noqa: BLE001 - a container that cannot say: the column function decides
        return False


def _getters(table: Any, columns: tuple[str, ...], function_sources: dict[str, str]) -> dict[str, Callable[[Any], str]]:
    """Column -> a getter giving what ``table._get_display_value(job, column)`` gives, for the columns
    that are an attribute path or one of :data:`GANGAS_FUNCTIONS` in both ``table`` and the configuration."""
    functions = table._display_columns_functions
    show_empty = table._display_columns_show_empty
    getters: dict[str, Callable[[Any], str]] = {}
    for column in columns:
        if column in ("fqid", "subjob status") or (column in functions) != (column in function_sources):
            continue
        if column in functions:
            source, function = GANGAS_FUNCTIONS.get(column, (None, None))
            if function is None or function_sources[column] != source:
                continue
            getters[column] = _shown(function, column in show_empty)
        else:
            getters[column] = _shown(functools.partial(_attribute_path, column.split(".")), column in show_empty)
    return getters


def _attribute_path(names: list[str], job: Any) -> str:
    value = job
    for name in names:
        value = getattr(value, name)
    return str(value)


def _shown(read: Callable[[Any], Any], shown_empty: bool) -> Callable[[Any], str]:
    """Ganga's display rule: a missing attribute shows empty, so does a false value unless the column is
    one of ``[Display]jobs_columns_show_empty``."""
    def value(job: Any) -> str:
        try:
            found = read(job)
        except (AttributeError, KeyError):
            return ""
        return str(found) if found or shown_empty else ""

    return value
