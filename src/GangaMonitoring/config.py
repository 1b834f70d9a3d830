"""The ``[Monitoring]`` config section, and ``[PollThread]`` keys for backends stock forgot.

Ganga accepts new options only before its bootstrap ends, and only once per
process, so :func:`define_options` runs at import of the runtime package.
Values are read when they are used (:func:`monitoring_option`,
:func:`poll_interval`), never frozen at import: a test's or a user's
``config.Monitoring.aging_seconds = 5`` applies from the next decision on.
"""

from __future__ import annotations

import ast
import os
import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core.breaker import BreakerSettings

SECTION = "Monitoring"

# name: (default, doc).  Every option is documented in docs/configuration.md too.
MONITORING_OPTIONS: dict[str, tuple[Any, str]] = {
    "use_stock_monitoring": (False, "Load the package (the SimGrid backend, these options) but keep Ganga's "
                                    "stock monitoring component: for comparisons and benchmarks."),
    "native_drivers": (True, "Monitor backends that have a native driver (SimGrid, Slurm, Local, Dirac) through it "
                             "(SimGrid, Dirac: status, retrieval and finalisation as separate operations; Local, "
                             "Slurm: Ganga's own update plus the driver's checks). False: every backend goes "
                             "through its stock updateMonitoringInformation."),
    "file_events": ("auto", "Poll a Local or Batch (Slurm, LSF, PBS, SGE) job as soon as its wrapper closes its "
                            "status file in its output directory (the job ended), from inotify events: 'auto' where "
                            "the output directory's file system is a local one (ext4, xfs, tmpfs...; on NFS, AFS, "
                            "EOS, CVMFS, Lustre, GPFS and other network or FUSE file systems the wrapper's writes "
                            "raise no event here), 'on' wherever the directory can be watched, 'off' never. Jobs "
                            "not watched are polled every [PollThread] interval, as before. A Condor job is "
                            "polled when its event log (condorLog, there too) says it ran, ended, was aborted or "
                            "held, its schedd query answered from that log."),
    "poll_cadence": ("adaptive", "How a Local or Batch backend whose jobs are not watched for file events (see "
                                 "file_events) is polled: 'adaptive' sooner when the runtimes of a split job's "
                                 "finished subjobs predict an end before the next poll, and up to 4 intervals "
                                 "apart when polls see nothing end and nothing is predicted to, never more polls "
                                 "than 'fixed' (every [PollThread] interval, as stock) since the first."),
    "file_event_window": (0.1, "Seconds the status-file changes of several jobs are gathered into one poll of "
                               "those jobs (the first change's poll is due this long after it)."),
    "max_file_watches": (0, "Most output directories watched at once (one inotify watch each); jobs beyond are "
                            "polled every interval. 0: half of the kernel's fs.inotify.max_user_watches, at most "
                            "65536."),
    "poll_workers": (12, "Threads that run status polls and the updates of backends without a native driver "
                         "(each master job's update, in chunks). Stock Ganga runs those updates on "
                         "[PollThread]update_thread_pool_size (5) threads; these are shared by every backend, "
                         "each within its own limit (see adaptive_concurrency)."),
    "io_workers": (8, "Threads that retrieve job output (downloads)."),
    "cpu_workers": (2, "Threads coordinating finalisation, and worker processes for its CPU-heavy "
                       "steps (unpacking, checksums, merges)."),
    "worker_niceness": (10, "Added to the niceness of the worker processes of finalisation (0-19), so their "
                            "unpacking never takes a core the prompt waits for; 0: the session's own."),
    "aging_seconds": (30.0, "Seconds a waiting operation needs to climb one priority class "
                            "(user > finalise > poll > long-queued poll), so nothing starves."),
    "default_backend_concurrency": (4, "Operations of one backend that may run at once in each pool "
                                       "(polls, retrievals, finalisations are counted apart): the starting "
                                       "point of the adaptive limit, or the limit when adaptive_concurrency "
                                       "is False."),
    "backend_concurrency": ({}, "Fixed per-backend limits, e.g. {'Dirac': 4, 'Local': 1}: a backend named here "
                                "is never adapted."),
    "adaptive_concurrency": (True, "Find each backend's limit per pool (between 1 and the pool's size) by AIMD: "
                                   "raised by one while the latency per request holds, cut on service errors "
                                   "(5xx, timeouts, outages) and when its latency says the service queues "
                                   "requests. queues shows each limit and why."),
    "adaptive_queue_tolerance": (4.0, "Requests a backend's service may seem to queue (estimated from how its "
                                      "latency per request grew over its best) before its adaptive limit is cut."),
    "compat_chunk_size": (100, "Subjobs per update operation for backends without a native driver (that use "
                               "Ganga's default master_updateMonitoringInformation): a master's subjobs are "
                               "updated in chunks of this size, concurrently. 0: one operation per master."),
    "first_poll_delay": (2.0, "Seconds after a job's submission at which its backend is polled for it, "
                              "even when the backend's interval would come later (stock Ganga: 0-2 s)."),
    "long_queued_after": (600.0, "Seconds in 'submitted' after which a job counts as long-queued "
                                 "and is polled at the lowest priority."),
    "queued_interval_factor": (4.0, "A long-queued job is polled this many times less often "
                                    "than its backend's poll interval."),
    "reconcile_interval": (300.0, "Seconds between full re-reads of the job registry that check "
                                  "the active-job index (it is kept up to date from status "
                                  "changes; this is a safety net)."),
    "call_timeout": (600.0, "Seconds a coroutine backend update, a DIRAC call or a worker-process step may "
                            "take before the operation is reported failed (and retried). A synchronous backend "
                            "update cannot be interrupted: it keeps its poll thread until it returns, and "
                            "queues shows how long it has run."),
    "failing_job_grace": (600.0, "Seconds one job may keep failing its updates on its own (the service no longer "
                                 "knows it, its status cannot be read) while its backend answers for its other "
                                 "jobs, before it is marked failed with the reason (queues.why shows it; "
                                 "queues.retry tries again). A service outage never fails a job."),
    "poll_retry_attempts": (4, "Attempts of one poll before it waits for the next interval."),
    "call_retry_attempts": (3, "Attempts of a requested monitoring call before it gives up."),
    "output_retry_for": (3600.0, "Seconds output retrieval and finalisation of a finished job keep being "
                                 "retried (a grid outage must not fail jobs) before the job is marked failed."),
    "retry_max_wait": (60.0, "Longest backoff in seconds between two attempts."),
    "min_free_disk_mb": (100.0, "Below this many MB free in the gangadir, output retrieval and finalisation wait "
                                "(checked every disk_check_interval s; a write failing with a full disk also "
                                "holds them)."),
    "disk_check_interval": (60.0, "Seconds between two checks of the free space in the gangadir."),
    "rollup_check_interval": (60.0, "Seconds between two checks that each split job's counted subjob statuses "
                                    "equal a recount (a mismatch still there at the next check is logged and "
                                    "repaired)."),
    "status_file_interval": (5.0, "Seconds between two writes of the monitoring snapshot to "
                                  "<gangadir>/monitoring/status.json, which 'ganga-monitoring status' prints "
                                  "from a shell (longer when a write would take more than 2 % of the time)."),
    "breaker_failures": (5, "Consecutive failures of a backend's service (outage, 5xx, timeout) after which its "
                            "polls and downloads are held and the backend is only probed."),
    "breaker_first_probe": (10.0, "Seconds after a backend's breaker opens before the first probe; each failed "
                                  "probe doubles it."),
    "breaker_max_probe": (120.0, "Longest interval in seconds between two probes of a failing backend."),
    "runmonitoring_timeout": (300.0, "Default seconds runMonitoring() waits for the requested polls."),
    "notice_behind_after": (60.0, "At the prompt, say so (once) when due monitoring work has waited this many "
                                  "seconds; a backend failing 3 polls in a row is reported too."),
    "completing_timeout": (3600.0, "Seconds a job of a backend without a native driver (e.g. DummyRemote, or Dirac "
                                   "with native_drivers False) may stay "
                                   "'completing' before its finalisation counts as lost: it is set back to "
                                   "'running' so its backend finalises it again (Ganga would wait for a restart)."),
    "shutdown_timeout": (30.0, "Longest seconds Ganga's exit waits for monitoring work still running (a "
                               "download, a finalisation), saying what it waits for; what does not end by then, "
                               "or when Ctrl-C is pressed, is taken up by the next session."),
}

SIMGRID_SECTION = "SimGrid"
SIMGRID_OPTIONS: dict[str, tuple[Any, str]] = {
    "server": ("http://127.0.0.1:8650", "URL of the grid simulator (ganga-monitoring simgrid) that "
                                         "SimGrid() jobs use unless their backend.server is set."),
    "timeout": (10.0, "Seconds a request to the simulator may take."),
    "max_batch": (1000, "Job ids per status request (the simulator's --max-batch)."),
}

AT_START = frozenset({"poll_workers", "io_workers", "cpu_workers", "worker_niceness", "aging_seconds"})
"""Options read when the component is built: a change applies at the next Ganga start."""

_in_use: dict[str, Any] = {}
"""The values of the ``AT_START`` options this session uses (recorded by :func:`check_at_start`)."""

_AT_LEAST_1 = ("an integer of at least 1", lambda v: _is_int(v) and v >= 1)
_AT_LEAST_0 = ("an integer of at least 0", lambda v: _is_int(v) and v >= 0)
_POSITIVE = ("a number of seconds above 0", lambda v: _is_number(v) and v > 0)
_NOT_NEGATIVE = ("a number of at least 0", lambda v: _is_number(v) and v >= 0)
_BOOLEAN = ("True or False", lambda v: isinstance(v, bool))

RULES: dict[str, tuple[str, Any]] = {
    **dict.fromkeys(("poll_workers", "io_workers", "cpu_workers", "default_backend_concurrency",
                     "poll_retry_attempts", "call_retry_attempts", "breaker_failures"), _AT_LEAST_1),
    **dict.fromkeys(("compat_chunk_size", "max_file_watches"), _AT_LEAST_0),
    "worker_niceness": ("an integer from 0 to 19", lambda v: _is_int(v) and 0 <= v <= 19),
    "file_events": ("'auto', 'on' or 'off'", lambda v: v in ("auto", "on", "off")),
    "poll_cadence": ("'adaptive' or 'fixed'", lambda v: v in ("adaptive", "fixed")),
    **dict.fromkeys(("aging_seconds", "reconcile_interval", "call_timeout", "output_retry_for", "retry_max_wait",
                     "disk_check_interval", "rollup_check_interval", "breaker_first_probe", "breaker_max_probe",
                     "runmonitoring_timeout",
                     "notice_behind_after", "completing_timeout", "shutdown_timeout", "long_queued_after",
                     "adaptive_queue_tolerance", "failing_job_grace", "status_file_interval"), _POSITIVE),
    "queued_interval_factor": ("a number of at least 1", lambda v: _is_number(v) and v >= 1),
    **dict.fromkeys(("first_poll_delay", "min_free_disk_mb", "file_event_window"), _NOT_NEGATIVE),
    **dict.fromkeys(("use_stock_monitoring", "native_drivers", "adaptive_concurrency"), _BOOLEAN),
    "backend_concurrency": ("a dict of backend names to integers, such as {'Dirac': 4}",
                            lambda v: isinstance(v, dict) and all(isinstance(k, str) and _is_int(n)
                                                                  for k, n in v.items())),
}
"""What each ``[Monitoring]`` option accepts: (in words, a check of the value)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def typed(name: str, value: Any) -> Any:
    """``value`` as ``[Monitoring]name``'s type when it converts (an ini's ``"-3"`` is ``-3``), else as given."""
    if name not in MONITORING_OPTIONS:
        return value
    with contextlib.suppress(ValueError, SyntaxError):
        return _as_type_of(MONITORING_OPTIONS[name][0], value)
    return value


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean <the closest of choices>?)``, or "" when none is close: for a name mistyped."""
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def check_option(name: str, value: Any) -> str | None:
    """Why ``value`` is not a valid ``[Monitoring]name`` (one sentence), or None if it is."""
    rule = RULES.get(name)
    value = typed(name, value)
    if rule is None or rule[1](value):
        return None
    return f"[{SECTION}]{name} must be {rule[0]}, not {value!r}"


# [PollThread] knows rates for some backends only; Ganga ignores e.g. ``Slurm = 5``
# in a .gangarc.  These are added (with the default rate of Batch backends).
EXTRA_POLL_RATES: dict[str, int] = {
    "Slurm": 30,
    "SGE": 30,
    "Interactive": 30,
    "Remote": 30,
    "DummyRemote": 30,
    "SimGrid": 5,
}


def define_options() -> bool:
    """Create ``[Monitoring]``, ``[SimGrid]`` and the missing ``[PollThread]`` rates (idempotent).

    Ganga refuses new sections once its first bootstrap in a process has
    ended; then this logs why and returns False, and the defaults above
    apply (:func:`monitoring_option` falls back to them).
    """
    from GangaCore.Utility.Config import Config, getConfig, makeConfig
    from GangaCore.Utility.logging import getLogger

    if Config._after_bootstrap and SECTION not in Config.allConfigs:
        getLogger("GangaMonitoring").error(
            "GangaMonitoring was loaded after Ganga's first start in this process: its [Monitoring] "
            "options cannot be added now and take their defaults. Name it in RUNTIME_PATH from the start.")
        return False
    for name, doc, options in (
            (SECTION, "GangaMonitoring: the priority-scheduled monitoring component.", MONITORING_OPTIONS),
            (SIMGRID_SECTION, "The SimGrid backend: jobs on GangaMonitoring's local grid simulator.",
             SIMGRID_OPTIONS)):
        if name not in Config.allConfigs or not getattr(Config.allConfigs[name], "_config_made", False):
            makeConfig(name, doc)
        _define_section(name, options)
    section = getConfig(SECTION)
    if not any(pre is _refuse_invalid for pre, _ in getattr(section, "_user_handlers", [])):
        section.attachUserHandler(_refuse_invalid, _say_when_it_applies)  # Ganga drops handlers between starts
        section.attachSessionHandler(None, _changed)
        section.attachGangarcHandler(None, _changed)
    section.hasModified = True
    poll = getConfig("PollThread")
    if not any(pre is _refuse_invalid_rate for pre, _ in getattr(poll, "_user_handlers", [])):
        poll.attachUserHandler(_refuse_invalid_rate, None)
    for backend, rate in EXTRA_POLL_RATES.items():
        if backend not in poll.options or not poll.options[backend].check_defined():
            poll.addOption(backend, rate, f"Poll rate of the {backend} backend in seconds (GangaMonitoring).",
                           typelist=["int", "float"])
    return True


def _define_section(name: str, options: dict[str, tuple[Any, str]]) -> None:
    from GangaCore.Utility.Config import getConfig

    section = getConfig(name)
    for option, (default, doc) in options.items():
        if option not in section.options or not section.options[option].check_defined():
            # a float option must also take "42" from an ini file (Ganga evaluates it to an int)
            typelist = ["float", "int"] if isinstance(default, float) else None
            section.addOption(option, default, doc, typelist=typelist)


def _refuse_invalid(name: str, value: Any) -> Any:
    """Before a value is set (``config.Monitoring.io_workers = -1`` at the prompt, or an ini file Ganga reads
    again, as its new-version wizard does): an invalid one is refused, saying why, and the value in effect kept.

    Never raises: Ganga's wizard would end the session on the exception (a bad line in a user's
    file must never stop Ganga from starting).
    """
    problem = check_option(name, value)
    if problem is None:
        return value
    kept = monitoring_option(name)
    _say_once(name, typed(name, value), f"{problem}: it keeps its value, {kept!r}")
    _refused.add(name)
    return kept


_refused: set[str] = set()
"""Options whose last setting :func:`_refuse_invalid` refused: nothing changed, nothing more to say."""


def _refuse_invalid_rate(name: str, value: Any) -> Any:
    """As :func:`_refuse_invalid`, for a ``[PollThread]`` poll interval (other options pass)."""
    from GangaCore.Utility.Config import getConfig

    poll = getConfig("PollThread")
    if name not in _rate_names(poll):
        return value
    with contextlib.suppress(ValueError, SyntaxError):
        value = ast.literal_eval(value) if isinstance(value, str) else value
    if _valid_rate(value):
        return value
    kept = poll[name] if _valid_rate(poll[name]) else poll.options[name].default_value  # of the option's type
    _say_once(f"PollThread.{name}", value, f"{_rate_problem(name, value)}: it keeps its value, {kept!r}")
    return kept


def _say_when_it_applies(name: str, _value: Any) -> None:
    """After a value is set: one that is read at start only says so, at the prompt."""
    _changed(name, _value)
    if name in _refused:
        _refused.discard(name)
        return
    if name in AT_START:
        from .views.prompt import tell_user

        tell_user(f"[{SECTION}]{name} applies from the next Ganga start; this session keeps "
                  f"{_in_use.get(name, MONITORING_OPTIONS[name][0])!r}")


_warned: set[tuple[str, str]] = set()
"""(option, repr of a value) already reported: each bad value is named once per process."""


def _say_once(name: str, value: Any, message: str) -> None:
    if (name, repr(value)) in _warned:
        return
    _warned.add((name, repr(value)))
    from GangaCore.Utility.logging import getLogger

    getLogger("GangaMonitoring").error("%s", message)


def monitoring_option(name: str) -> Any:
    """The current value of ``[Monitoring]name`` (the default, said once, if it is not valid).

    Monitoring asks for options at every decision (tens of thousands of times a second in a burst, each
    read through Ganga's config 3-5 us of the GIL), so checked values are kept until the section changes.
    Contract: a change made through the section (a user's ``config.Monitoring.x = ...``, a file read
    again, ``revertToDefaultOptions``, a test's ``setConfigOption``) applies from the next call after it
    returns.  The section's ``hasModified`` is the dirty flag: Ganga sets it in every setter and revert
    of a section (and reads it only for ``defaults_*`` sections); this module clears it when it starts a
    new set of values, and its post-handlers (:func:`_changed`) set it again once a setter has stored
    its value, so a read made inside a setter (before the value is stored) is never kept.  A change made
    on a ``ConfigOption`` directly, bypassing its section, is not seen until the section's next change.
    """
    section = _sections().get(SECTION)
    if section is None:
        return MONITORING_OPTIONS[name][0]
    if section.hasModified:
        _start_values(section)
    values = _values
    try:
        return values[name]
    except KeyError:
        value = values[name] = _checked(section, name)  # a dict replaced meanwhile is dropped with it
        return value


_values: dict[str, Any] = {}
"""Checked ``[Monitoring]`` values read since the section last changed; replaced whole, never cleared in
place, so a read that began before a change stores its value only in the set that change retired."""


def _start_values(section: Any) -> None:
    global _values
    section.hasModified = False  # before the new set: a change from now on marks it stale again
    _values = {}


def _changed(_name: str, _value: Any) -> None:
    """A post-handler of the section's setters: the stored value is read again at the next call."""
    section = _sections().get(SECTION)
    if section is not None:
        section.hasModified = True


def _checked(section: Any, name: str) -> Any:
    default = MONITORING_OPTIONS[name][0]
    value = typed(name, section[name])
    problem = check_option(name, value)
    if problem is None:
        return value
    _say_once(name, value, f"{problem}: the default, {default!r}, is used")
    return default


_all_configs: dict[str, Any] | None = None


def _sections() -> dict[str, Any]:
    """Ganga's ``Config.allConfigs`` (the sections by name), looked up once."""
    global _all_configs
    if _all_configs is None:
        from GangaCore.Utility.Config import Config

        _all_configs = Config.allConfigs
    return _all_configs


def _as_type_of(default: Any, value: Any) -> Any:
    """Ganga hands ini values as strings when the option did not exist yet, and "42" as int."""
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or isinstance(default, str):
        return value
    if isinstance(default, bool):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, (int, float)):
        return type(default)(float(value)) if isinstance(default, int) else float(value)
    return ast.literal_eval(value)


def check_at_start() -> None:
    """Every ``[Monitoring]`` option, every line of ``[Monitoring]`` and ``[SimGrid]`` Ganga could not take,
    and every ``[PollThread]`` rate, checked once per start (the runtime package's ``postBootstrapHook``).

    Each problem is named in one sentence with the value used instead, and the bad value is taken out of
    Ganga's config (the level that held it: command line, file), so ``config.Monitoring`` shows what is
    used.  Never raises: a bad line never stops Ganga.
    """
    from GangaCore.Utility.Config import Config, getConfig

    if SECTION not in Config.allConfigs:
        return
    _report_lines_ganga_refused(Config)
    section = getConfig(SECTION)
    for name in MONITORING_OPTIONS:
        for bad in _drop_invalid_levels(section.options[name], lambda value, name=name: check_option(name, value)
                                        is None):
            _say_once(name, typed(name, bad),
                      f"{check_option(name, bad)}: {_used(monitoring_option(name), MONITORING_OPTIONS[name][0])}")
    _changed(SECTION, None)  # levels deleted on the options themselves, which their section does not see
    _in_use.update({name: monitoring_option(name) for name in AT_START})
    poll = getConfig("PollThread")
    for name in _rate_names(poll):
        for bad in _drop_invalid_levels(poll.options[name], _valid_rate):
            _say_once(f"PollThread.{name}", bad,
                      f"{_rate_problem(name, bad)}: {_used(poll_interval(name), _default_rate(name))}")


def _used(value: Any, default: Any) -> str:
    """How a start-up message ends: ``"the default, 8, is used"`` or ``"12 is used"``."""
    return f"the default, {value!r}, is used" if value == default else f"{value!r} is used"


_LEVELS = ("user_value", "gangarc_value", "session_value")
"""Where Ganga keeps the values of an option given by the command line, an ini file read again and the
ini files read at start, most effective first (below them is the default)."""


def _drop_invalid_levels(option: Any, valid: Any) -> list[Any]:
    """Delete each level of ``option`` whose value is not ``valid``; returns the deleted values."""
    dropped = []
    for level in _LEVELS:
        if hasattr(option, level) and not valid(getattr(option, level)):
            dropped.append(getattr(option, level))
            delattr(option, level)
    return dropped


def _report_lines_ganga_refused(config_module: Any) -> None:
    """Lines of ``[Monitoring]``/``[SimGrid]`` that Ganga kept aside: unknown options (with a did-you-mean)
    and values its own type check refused (``io_workers = lots``); each is named and then forgotten."""

    from GangaCore.Utility.Config import getConfig

    for section_name, known in ((SECTION, MONITORING_OPTIONS), (SIMGRID_SECTION, SIMGRID_OPTIONS)):
        for pending in (config_module.unknownConfigFileValues, config_module.unknownUserConfigValues,
                        config_module.unknownGangarcFileValues):
            leftovers = pending.get(section_name) or {}
            for option, raw in list(leftovers.items()):
                del leftovers[option]
                if option in known:
                    default = known[option][0]
                    problem = check_option(option, raw) if section_name == SECTION else None
                    text = problem or f"[{section_name}]{option} must be a {type(default).__name__}, not {raw!r}"
                    _say_once(option if section_name == SECTION else f"{section_name}.{option}", typed(option, raw),
                              f"{text}: {_used(getConfig(section_name)[option], default)}")
                    continue
                _say_once(f"{section_name}.{option}", raw, f"[{section_name}] has no option {option!r}"
                          f"{did_you_mean(option, known)}: '{option} = {raw}' is ignored")


GANGA_POLL_RATES = frozenset({"Local", "Condor", "gLite", "LSF", "PBS", "Dirac", "Panda", "default_backend_poll_rate"})
"""``[PollThread]`` options of Ganga's own that are a backend's poll interval in seconds."""


def _rate_names(poll: Any) -> list[str]:
    """The ``[PollThread]`` options that are poll intervals: Ganga's, ours, and any named after a backend."""
    try:
        from GangaCore.Utility.Plugin import allPlugins

        backends = set(allPlugins.allClasses("backends"))
    except Exception:  # noqa: BLE001 - no plugins yet: the known names alone
        backends = set()
    names = GANGA_POLL_RATES | set(EXTRA_POLL_RATES) | backends
    return sorted(name for name in poll.options if name in names and poll.options[name].check_defined())


MIN_POLL_INTERVAL = 0.1
"""Seconds: a ``[PollThread]`` rate below it (0 made ~11 requests a second) is not used."""


def _valid_rate(value: Any) -> bool:
    return _is_number(value) and value >= MIN_POLL_INTERVAL


def poll_interval(backend: str) -> float:
    """Seconds between polls of ``backend``: ``[PollThread]<backend>``, else the default rate; a rate that is
    not a number of at least ``MIN_POLL_INTERVAL`` seconds is named once and that option's default used."""
    from GangaCore.Utility.Config import getConfig

    poll = getConfig("PollThread")
    name = backend if backend in poll.options else "default_backend_poll_rate"
    value = poll[name]
    if _valid_rate(value):
        return float(value)
    default = _default_rate(name)
    _say_once(f"PollThread.{name}", value, f"{_rate_problem(name, value)}: {_used(default, default)}")
    return default


def _default_rate(name: str) -> float:
    from GangaCore.Utility.Config import getConfig

    default = getattr(getConfig("PollThread").options[name], "default_value", None)
    return float(default) if default is not None and _valid_rate(default) else float(EXTRA_POLL_RATES.get(name, 30))


def _rate_problem(name: str, value: Any) -> str:
    return f"[PollThread]{name} must be a number of seconds of at least {MIN_POLL_INTERVAL}, not {value!r}"


def credential_check_interval() -> float:
    """Seconds between two credential checks: Ganga's own ``[PollThread]creds_poll_rate``."""
    from GangaCore.Utility.Config import getConfig

    try:
        return max(1.0, float(getConfig("PollThread")["creds_poll_rate"]))
    except Exception:  # noqa: BLE001 - Ganga raises its own ConfigError for unknown keys
        return 30.0


def fixed_backend_concurrency(backend: str, pool: str = "poll") -> int | None:
    """A limit that is not adapted: named in ``backend_concurrency``, or any with adaptation off.

    None: the limit of ``backend`` in ``pool`` is adaptive.  A configured
    value of 0 or less means no limit: the pool's size bounds it.
    """
    per_backend = monitoring_option("backend_concurrency") or {}
    if backend in per_backend:
        value = per_backend[backend]
    elif not monitoring_option("adaptive_concurrency"):
        value = monitoring_option("default_backend_concurrency")
    else:
        return None
    return 1_000_000 if value is None or int(value) <= 0 else int(value)


def status_file_interval() -> float:
    return float(monitoring_option("status_file_interval"))


def disk_check_interval() -> float:
    return float(monitoring_option("disk_check_interval"))


def failing_job_grace() -> float:
    """Seconds a job may fail its updates on its own (its backend answering) before it is marked failed."""
    return float(monitoring_option("failing_job_grace"))


def rollup_check_interval() -> float:
    return float(monitoring_option("rollup_check_interval"))


def completing_check_interval() -> float:
    """Seconds between two looks for lost finalisations: a quarter of ``completing_timeout``, within 1-60 s."""
    return min(60.0, max(1.0, float(monitoring_option("completing_timeout")) / 4))


def gangadir() -> str | None:
    """Ganga's ``[Configuration]gangadir``, expanded (None: no Ganga config)."""
    try:
        from GangaCore.Utility.Config import getConfig

        return os.path.expanduser(str(getConfig("Configuration")["gangadir"]))
    except Exception:  # noqa: BLE001 - no Ganga config
        return None


def existing_gangadir() -> str | None:
    """:func:`gangadir` if it exists as a directory."""
    path = gangadir()
    return path if path is not None and os.path.isdir(path) else None


def ganga_log_file() -> str | None:
    """Ganga's log file (``[Logging]_logfile``), where worker processes log too (None: no Ganga config)."""
    try:
        from GangaCore.Utility.Config import getConfig

        return os.path.expanduser(str(getConfig("Logging")["_logfile"])) or None
    except Exception:  # noqa: BLE001 - no Ganga config (a bare component in a test): workers stay quiet
        return None


def breaker_settings() -> BreakerSettings:
    """The breakers' settings, read at each use (a user may change them at the prompt)."""
    from .core.breaker import BreakerSettings

    return BreakerSettings(failures_to_open=int(monitoring_option("breaker_failures")),
                           first_probe_after=float(monitoring_option("breaker_first_probe")),
                           max_probe_interval=float(monitoring_option("breaker_max_probe")))
