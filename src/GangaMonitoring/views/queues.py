"""``queues`` at the Ganga prompt: Ganga's own queues, plus what monitoring is doing.

Ganga builds its ``queues`` object from the class named
``ThreadPoolQueueMonitor`` when it starts (``startUpQueues``); ``patches``
swaps in :class:`MonitoringQueues`, which keeps every stock method
(``add``, ``addProcess``, ``purge``, the shutdown behaviour) and adds:

- the monitoring section of the display (``queues`` at the prompt, ``str(queues)``);
- ``queues.snapshot()``: the same as plain data (a dict), for scripts and tests;
- ``queues.why(job)``: why a job is, or is not, being worked on, and why it or its subjobs failed;
- ``queues.retry(job)``: try again to get the output of a job that failed for want of it;
- ``queues.watch()``: the monitoring display, refreshed in place until Ctrl-C;
- ``queues.jobs(...)``: a row per job (id, name, status, backend, backend id, run time, and what
  monitoring waits for), filtered by status, backend, master or name (``job_table``, ``job_rows``);
- ``queues.notify(jobs, command=None)``: a line, or a shell command, when every job of a set is final;
- ``queues.wait(jobs, until="final", timeout=None)``: wait until jobs reach a state, with their progress
  (``waiting``).
"""

from __future__ import annotations

import difflib
import functools
import inspect
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from GangaCore.Core.exceptions import GangaAttributeError, GangaException
from GangaCore.Core.GangaThread.WorkerThreads.ThreadPoolQueueMonitor import ThreadPoolQueueMonitor
from GangaCore.GPIDev.Base.Proxy import stripProxy

from .. import config
from . import job_table
from .layout import explain_job, render, trouble_lines
from .snapshot import WHY_LINES, FailedJobs
from . import watch_app
from ..integration import current
from ..core.work import JobKey


def _our_component() -> Any | None:
    return current.component()


class Explanation(str):
    """Text that shows as text at the prompt: its repr is itself, not a quoted string with ``\\n``."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


class JobTable(Explanation):
    """The per-job table as text (what the prompt prints); ``rows`` holds the same as data."""

    rows: list[job_table.JobRow]

    def __new__(cls, text: str, rows: list[job_table.JobRow]) -> JobTable:
        table = super().__new__(cls, text)
        table.rows = rows
        return table


def _resolve(job: Any, registry_slice: Any) -> Any:
    """The raw job or subjob ``job`` names; LookupError with a sentence saying what is wrong."""
    from ..integration import registry

    raw = stripProxy(job)
    if hasattr(raw, "getFQID") and hasattr(raw, "master"):
        return raw
    text = raw.strip() if isinstance(raw, str) else raw
    if isinstance(text, str) and re.fullmatch(r"\d+(\.\d+)?", text):
        top, _, sub = text.partition(".")
        key = JobKey(int(top), int(sub) if sub else None)
    elif isinstance(text, int) and not isinstance(text, bool):
        key = JobKey(text)
    else:
        shown = repr(raw) if isinstance(raw, (str, int, float, type(None))) else f"a {type(raw).__name__}"
        raise LookupError(f"expected a job, a subjob, a job id or 'id.subid' (such as 8 or '8.41'), got {shown}")
    found = registry.find_job(registry_slice, key)
    if found is None:
        raise LookupError(f"there is no job {key.fqid} in this session's job registry")
    return found


def _failed(job: Any) -> FailedJobs:
    """The failed among ``job`` (raw, top-level) and its subjobs, the first ``WHY_LINES`` with their backend's word.

    Subjob states come from Ganga's cache where a subjob is not loaded, so
    only those named are loaded.
    """
    subjobs = job.subjobs
    if not len(subjobs):
        return FailedJobs({JobKey(job.id): _backend_says(job)} if job.status == "failed" else {})
    all_states = getattr(subjobs, "getAllSJStatus", None)
    states = all_states() if all_states is not None else [sj.status for sj in subjobs]
    numbers = [number for number, state in enumerate(states) if state == "failed"]
    named: dict[JobKey, str | None] = {}
    for number in numbers[:WHY_LINES]:
        subjob = stripProxy(subjobs[number])
        named[JobKey(job.id, subjob.id)] = _backend_says(subjob)
    return FailedJobs(named, count=len(numbers), subjobs=len(subjobs), states=dict(Counter(states)))


def _backend_says(job: Any) -> str | None:
    """The backend's own reason for a failed job, where it records one this package knows how to read.

    SimGrid's: the grid's state for the job and when it ended.  A backend with an ``exitcode`` field
    (Local, and the Batch backends: LSF, PBS, SGE, Slurm): the program's exit code, and where its
    standard error is.  Other fields are not guessed at.
    """
    from ..backends.simgrid import SimGrid

    backend = stripProxy(job.backend)
    if isinstance(backend, SimGrid):
        if backend.status != "Failed":
            return None
        ended = f" at {time.strftime('%H:%M:%S', time.localtime(backend.finished_at))}" if backend.finished_at else ""
        return f"the grid reported it Failed{ended} (grid id {backend.id})"
    code = getattr(backend, "exitcode", None)
    if not isinstance(code, int) or isinstance(code, bool) or code == 0:
        return None
    stderr = os.path.join(job.outputdir, "stderr")
    where = f"; its standard error: {stderr}" if os.path.exists(stderr) else ""
    return f"its program exited with code {code}{where}"


def _driver_says(component: Any, job: Any) -> list[str]:
    """The line a native driver has for ``job`` (Slurm: why the job is pending), if any."""
    driver = component.native_drivers.get(type(stripProxy(job.backend)).__name__)
    said = driver.says(job) if driver is not None else None
    return [f"  {said}"] if said else []


def _no_such_command(name: str, commands: list[str]) -> str:
    """``queues.<name>`` does not exist: the message, with the closest commands if any are close."""
    close = difflib.get_close_matches(name, commands, n=2, cutoff=0.6)
    hint = f"did you mean {' or '.join(f'queues.{c}' for c in close)}? " if close else ""
    return f"queues has no '{name}': {hint}its commands are {', '.join(commands)}"


class UsageError(GangaException, TypeError):
    """A ``queues`` command was called with a keyword it does not take (the message names the close ones)."""


Command = TypeVar("Command", bound=Callable[..., Any])


def keywords_checked(command: Command) -> Command:
    """``command`` called with a keyword it does not take says which of its own was meant (``timout=`` ->
    ``timeout``), as Ganga's error a prompt prints as one sentence, instead of Python's bare TypeError."""
    taken = [name for name in inspect.signature(command).parameters if name != "self"]

    @functools.wraps(command)
    def checked(*args: Any, **kwargs: Any) -> Any:
        unknown = [name for name in kwargs if name not in taken]
        if unknown:
            raise UsageError(_unknown_keywords(command.__name__, unknown, taken))
        return command(*args, **kwargs)

    return checked  # type: ignore[return-value]


def _unknown_keywords(command: str, unknown: list[str], taken: list[str]) -> str:
    said = ", ".join(f"'{name}'{config.did_you_mean(name, taken)}" for name in unknown)
    return f"queues.{command} takes no {said}: it takes {', '.join(taken)}"


class WaitError(GangaException, ValueError):
    """``queues.wait`` was given what it cannot wait for (the message says what)."""


def _job_items(jobs: Any) -> list[Any]:
    """The items of ``jobs``: one job, subjob, id or "id.sub", or a list, tuple, set or registry slice of them."""
    raw = stripProxy(jobs)
    if isinstance(raw, (str, int)) or hasattr(raw, "getFQID"):
        return [jobs]
    try:
        return list(jobs)
    except TypeError:
        return [jobs]  # not iterable: _resolve says what it is


class MonitoringQueues(ThreadPoolQueueMonitor):
    """What Ganga and its monitoring are doing.  At the prompt:

    queues                 Ganga's thread pools and queues, then monitoring: its pools, each backend's
                           health and jobs, jobs in trouble, split jobs' progress, what waits and why
    queues.jobs()          a row per job, as squeue: status, backend id, run time, what monitoring waits
                           for (queues.jobs(status="running"), queues.jobs(master=j), name="sim*")
    queues.why(j)          why job j (or "8.41") is, or is not, being worked on, and why it failed
    queues.retry(j)        try again to get the output of j's jobs that failed for want of it
    queues.notify(j, cmd)  run a shell command (or say a line) when every job of j is final
    queues.wait(j)         wait (in a script, say) until every job of j is final, with a progress bar;
                           until="running", timeout=600; returns what ended how
    queues.watch()         the monitoring part, full screen, refreshed, until q, Esc or Ctrl-C
    queues.snapshot()      the same as plain data, for scripts
    queues.add(f, ...)     Ganga's own: run f in its user thread pool

From a shell: ``ganga-monitoring status`` and ``ganga-monitoring jobs``.
"""

    def snapshot(self) -> dict[str, Any]:
        """What monitoring is doing now, as a JSON-serialisable dict ({} if it is not running)."""
        component = _our_component()
        return component.statistics().as_dict() if component is not None else {}

    @keywords_checked
    def why(self, job: Any) -> Explanation:
        """Why ``job`` is or is not being monitored, and what waits for it.

        ``job``: a job or subjob, a job id (``8``), or ``"8"`` / ``"8.41"``.
        The answer prints as text at the prompt (and is a ``str`` for scripts).
        """
        component = _our_component()
        if component is None:
            return Explanation("GangaMonitoring is not the active monitoring component")
        try:
            raw = _resolve(job, component.registry_slice)
        except LookupError as err:
            return Explanation(f"queues.why: {err}")
        if raw.master is None:
            failed = _failed(raw)
            stats = component.job_statistics(raw.id, failed.backend_says)
            explained = explain_job(stats, raw.status, failed)
            return Explanation("\n".join([explained, *_driver_says(component, raw)]))
        master = raw.master
        key = JobKey(master.id, raw.id)
        failed = _failed(master)
        stats = component.job_statistics(master.id, [key, *failed.backend_says])
        lines = [f"subjob {raw.getFQID('.')} is {raw.status}", *_driver_says(component, raw),
                 *trouble_lines(stats.reasons.get(key), raw.status, _backend_says(raw)),
                 f"its master, {explain_job(stats, master.status, failed)}"]
        return Explanation("\n".join(lines))

    @keywords_checked
    def retry(self, job: Any = None) -> list[str]:
        """Try again to get the output of ``job`` (or of every job) that failed for want of it."""
        component = _our_component()
        if component is None:
            return []
        retried: list[str] = component.retry_output(job)
        print(f"retrying the output of {len(retried)} job(s)" + (f": {', '.join(retried[:10])}" if retried else ""))
        return retried

    @keywords_checked
    def watch(self, interval: float = 2.0, count: int | None = None, stream: Any = None,
              width: int | None = None) -> None:
        """Show the monitoring display, refreshed in place every ``interval`` s, until Ctrl-C.

        ``count`` stops after that many refreshes (for scripts); ``stream`` defaults to stdout;
        lines fit in ``width`` columns (default: the terminal's; whole lines when not on one).
        """
        component = _our_component()
        if component is None:
            print("GangaMonitoring is not the active monitoring component", file=stream or sys.stdout)
            return
        watch_app.watch(component.statistics, interval, count, stream or sys.stdout, width=width,
                        retry=lambda: component.retry_output(None))

    @keywords_checked
    def jobs(self, status: Any = None, backend: str | None = None, master: Any = None, name: str | None = None,
             width: int | None = None) -> JobTable:
        """A row per job: id, name, status, backend, backend id, run time, and REASON (what monitoring waits for,
        or why the job ended as it did; a master's: its subjobs by state).

        ``status``: a state, several ("running,failed" or a list); ``backend``: its name; ``master``: a job or
        its id, to list its subjobs; ``name``: a substring, or a glob (``"sim*"``).  Lines fit in ``width``
        columns (default: the terminal's).  The answer prints as the table; ``.rows`` holds the rows.
        """
        from . import job_rows

        component = _our_component()
        if component is None:
            return JobTable("GangaMonitoring is not the active monitoring component", [])
        if master is not None:
            try:
                raw = _resolve(master, component.registry_slice)
            except LookupError as err:
                return JobTable(f"queues.jobs: {err}", [])
            if raw.master is not None:
                return JobTable(f"queues.jobs: {raw.getFQID('.')} is a subjob; master= takes a top-level job", [])
            rows = job_rows.subjob_rows(component, raw)
        else:
            rows = job_rows.top_level_rows(component)
        rows = job_table.JobFilter.of(status, backend, None, name).apply(rows)
        shown = width if width is not None else watch_app.terminal_width(sys.stdout)
        return JobTable(job_table.render(rows, shown), rows)

    @keywords_checked
    def notify(self, jobs: Any, command: str | None = None) -> Explanation:
        """When every job of ``jobs`` (a job, an id, "3.1", or a list of them) is final, run ``command``
        through the shell (``GANGA_JOBS="3 4"``, ``GANGA_STATUSES="completed failed"`` in its environment),
        or with no command print one line here.  The command runs off monitoring's threads; its failure is
        said in one line."""
        from ..integration.notify import FinalWatch, key_of
        from .prompt import tell_user

        component = _our_component()
        if component is None:
            return Explanation("GangaMonitoring is not the active monitoring component")
        items = list(jobs) if isinstance(jobs, (list, tuple, set)) else [jobs]
        statuses = {}
        for item in items:
            try:
                raw = _resolve(item, component.registry_slice)
            except LookupError as err:
                return Explanation(f"queues.notify: {err}; nothing will be notified")
            statuses[key_of(raw)] = raw.status
        if not statuses:
            return Explanation("queues.notify: no jobs named; nothing will be notified")
        watch = FinalWatch(statuses, command, tell_user)
        watch.start()
        waiting = watch.waiting_for()
        how = f"run {command!r}" if command else "say so here"
        if not waiting:
            return Explanation(f"every one of the {len(statuses)} job(s) is final already: about to {how}")
        return Explanation(f"when the {len(statuses)} job(s) are final, monitoring will {how} "
                           f"({len(waiting)} not final yet: {', '.join(k.fqid for k in waiting[:10])})")

    @keywords_checked
    def wait(self, jobs: Any, until: Any = "final", timeout: float | None = None, stream: Any = None) -> Any:
        """Wait until ``jobs`` reach ``until``, showing their progress; return what ended how.

        ``jobs``: a job, a subjob, an id (``3``, ``"3.1"``), a list of them, or a slice (``jobs``,
        ``jobs.select(status="running")``).  A split job counts as one job (its own status, rolled up
        from its subjobs); its subjobs show in the progress.
        ``until``: ``"final"`` (completed, failed or killed: the default), a state (``"running"``), or
        several (``"running,completed"`` or a list).  A job that ends otherwise (failed while you wait
        for ``"completed"``, removed) will not get there: the wait does not wait for it.
        ``timeout``: seconds (None: no limit).  Ctrl-C ends the wait at once, as a timeout does.

        At a terminal a progress bar is redrawn in place; elsewhere (``ganga script.py > log``) a
        plain line is written per change.  ``stream``: where (default: standard output).

        Returns a ``WaitResult``: true when every job got there; ``.reached``, ``.ended`` and
        ``.waiting`` map each job ("3", "4.1") to its status; ``.timed_out``, ``.interrupted``,
        ``.elapsed`` (seconds); ``.summary()`` says it in one line.  In a script::

            j.submit()
            result = queues.wait(j, timeout=3600)
            if not result:
                print(result.summary())

        The wait wakes on monitoring's status changes: it does not poll Ganga's jobs meanwhile.
        """
        from ..integration import registry
        from .waiting import parse_until, wait_for_jobs

        component = _our_component()
        if component is None:
            raise WaitError("queues.wait needs GangaMonitoring as the active monitoring component")
        try:
            states = parse_until(until)
        except ValueError as err:
            raise WaitError(f"queues.wait: {err}") from None
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or timeout < 0):
            raise WaitError(f"queues.wait: timeout is seconds (a number >= 0) or None, got {timeout!r}")
        raws = []
        for item in _job_items(jobs):
            try:
                raws.append(_resolve(item, component.registry_slice))
            except LookupError as err:
                raise WaitError(f"queues.wait: {err}") from None
        return wait_for_jobs(raws, states, timeout, stream or sys.stdout, registry.subjob_statuses)

    def _display(self) -> str:
        stock = super()._display()
        component = _our_component()
        if component is None:
            return stock
        return stock + "\n\n" + render(component.statistics())

    def __str__(self) -> str:
        """What ``queues`` shows (``print(queues)``)."""
        return self._display()

    def __getattr__(self, name: str) -> Any:
        """``queues.<typo>``: says which command was meant."""
        # Ganga's kind of AttributeError, so that its prompt prints the sentence alone, as for a typo of a
        # job's attribute (another error raised from here would be shown as an unexpected one, with a traceback)
        if name.startswith("_"):
            raise AttributeError(name)  # IPython's and pickle's probes: no advice
        raise GangaAttributeError(_no_such_command(name, self._commands()), name=name, obj=self)

    def _commands(self) -> list[str]:
        return sorted(n for n in dir(type(self)) if not n.startswith("_") and callable(getattr(type(self), n, None)))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """``queues`` typed at the IPython prompt shows the whole display."""
        printer.text("queues" if cycle else self._display())
