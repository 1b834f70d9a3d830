"""The demo: a real in-process Ganga with GangaMonitoring monitoring jobs on the built-in grid simulator.

It starts the simulator (a subprocess on 127.0.0.1), starts Ganga with
GangaMonitoring in a temp gangadir and HOME, submits one job split into
``--jobs`` subjobs on the ``SimGrid`` backend, and shows progress while they
are monitored.  Meanwhile the main thread does a trivial GPI operation every
100 ms and times it, as a user at the prompt would feel it.  The summary
says how many subjobs completed, how many outputs were retrieved, how long
Ganga took to notice each job finished on the grid (the lag), and how
responsive the "prompt" stayed.  ``--stock`` runs the same with Ganga's
stock monitoring, for comparison.  ``--backend Dirac`` runs Ganga's own Dirac
backend instead, on the simulated DIRAC (``simulator.fakedirac``) in front
of the same simulator.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC
from typing import Any
import contextlib

from . import _arguments as valid


def _say(*parts: Any, flush: bool = True, file: Any = None) -> None:
    """print() to the real standard output.

    Under stock monitoring, GangaDirac's executor process, once started,
    points this process's ``sys.stdout`` at the Ganga log (at debug level),
    so the demo's own lines would vanish from the terminal.
    """
    print(*parts, file=file or sys.__stdout__, flush=flush)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[rank]


def summarise(name: str, values: list[float], unit: str = "s") -> str:
    if not values:
        return f"{name}: no data"
    return (f"{name}: p50 {percentile(values, .5):.3f}{unit}  p95 {percentile(values, .95):.3f}{unit}  "
            f"p99 {percentile(values, .99):.3f}{unit}  max {max(values):.3f}{unit}  (n={len(values)})")


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ganga-monitoring demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=valid.count(1), default=2000, help="subjobs of the demo job (default 2000)")
    parser.add_argument("--plain", action="store_true", help="submit --jobs separate (unsplit) jobs instead")
    parser.add_argument("--per-master", type=valid.count(0), default=0, metavar="N",
                        help="split the --jobs subjobs into master jobs of N subjobs each, submitted one "
                             "after another (default: one master)")
    parser.add_argument("--burst", action="store_true",
                        help="hold the grid while submitting and release every job at once at the end, so "
                             "all finish within queue + run time of one moment (default: each job "
                             "queues from its own submission: they finish as they are submitted)")
    parser.add_argument("--compat", action="store_true",
                        help="monitor SimGrid through its stock updateMonitoringInformation (status and "
                             "downloads in one call, as Batch-style backends), not its native driver; "
                             "status requests carry at most 100 ids")
    parser.add_argument("--queue-time", type=valid.seconds, nargs=2, default=(0.0, 10.0), metavar=("MIN", "MAX"),
                        help="seconds a job waits on the grid before it runs (default 0 10)")
    parser.add_argument("--run-time", type=valid.seconds, nargs=2, default=(5.0, 30.0), metavar=("MIN", "MAX"),
                        help="seconds a job runs on the grid (default 5 30)")
    parser.add_argument("--failure-fraction", type=valid.fraction, default=0.02,
                        help="fraction of jobs that end Failed on the grid, 0 to 1 (default 0.02)")
    parser.add_argument("--latency", type=valid.seconds, default=0.05,
                        help="grid latency per request, s (default 0.05)")
    parser.add_argument("--poll-interval", type=valid.positive_seconds, default=2.0,
                        help="[PollThread]SimGrid, s > 0 (default 2)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulated grid")
    parser.add_argument("--timeout", type=valid.positive_seconds, default=600.0,
                        help="give up after this many seconds")
    parser.add_argument("--stock", action="store_true", help="use Ganga's stock monitoring instead")
    parser.add_argument("--backend", choices=("SimGrid", "Dirac"), default="SimGrid",
                        help="SimGrid (default), or Ganga's Dirac backend on the simulated DIRAC")
    parser.add_argument("--gangadir", help="gangadir to use (default: a temp dir, removed after)")
    parser.add_argument("--json", help="also write the summary as JSON to this file")
    faults = parser.add_argument_group("faults of the simulated grid (see `ganga-monitoring simgrid --help`; "
                                       "the three fractions add up to at most 1)")
    faults.add_argument("--error-rate", type=valid.fraction, default=0.0, help="fraction of requests answered 500")
    faults.add_argument("--timeout-rate", type=valid.fraction, default=0.0, help="fraction of requests that hang")
    faults.add_argument("--hang-seconds", type=valid.positive_seconds, default=30.0,
                        help="how long a hanging request hangs, s > 0 (the client's timeout is half of it, at "
                             "most 10 s; default 30)")
    faults.add_argument("--malformed-rate", type=valid.fraction, default=0.0, help="fraction of malformed answers")
    faults.add_argument("--outage", type=valid.seconds, nargs=2, action="append", default=[],
                        metavar=("AFTER", "LENGTH"),
                        help="the grid answers 503 for LENGTH s, from AFTER s after the submission")
    parser.add_argument("--max-concurrent", type=valid.count(0), default=8,
                        help="requests the grid serves at once (default 8; 0: no cap)")
    parser.add_argument("--io-limit", type=valid.count(0), default=8,
                        help="[Monitoring]backend_concurrency of the backend (default 8; 0: not set, so the "
                             "limits are adaptive)")
    parser.add_argument("--set", type=_setting, action="append", default=[], metavar="SECTION.OPTION=VALUE",
                        help="a Ganga option for the session, e.g. Monitoring.poll_workers=16 (repeatable; the "
                             "value is a Python literal, or a plain string)")
    parser.add_argument("--threads", type=valid.count(0), default=0, metavar="N",
                        help="one thread budget for either monitoring: stock's update pool "
                             "([PollThread]update_thread_pool_size) or ours (poll + io + cpu workers, in the "
                             "proportions of their defaults 12 + 8 + 2) gets N threads (default 0: each its own "
                             "defaults, stock 5, ours 22)")
    parser.add_argument("--floor-ops", type=valid.count(0), default=0, metavar="N",
                        help="once every job is final, time each kind of prompt operation N more times at the same "
                             "pace with monitoring idle: what the machine alone gives (its p50 and max)")
    parser.add_argument("--stall-report-after", type=valid.seconds, default=0.5, metavar="S",
                        help="when one timed GPI operation takes longer, record every thread's stack (in the JSON)")
    args = parser.parse_args(argv)
    valid.check_ranges(parser, args, "--queue-time", "--run-time")
    valid.check_rates(parser, args, ("--error-rate", "--timeout-rate", "--malformed-rate"))

    home = tempfile.mkdtemp(prefix="gangamon-demo-home-")
    os.environ["HOME"] = home  # Ganga truncates ~/.ganga.log: keep the user's own untouched
    gangadir = args.gangadir or tempfile.mkdtemp(prefix="gangamon-demo-gangadir-")

    import ganga  # noqa: F401 - puts GangaCore on sys.path

    from . import embedded
    from . import quiet_bare_name_warning  # apart from submodules, which tools/upstream_patch requires
    from ._files import write_json_atomically
    from .simulator.process import SimGridProcess

    quiet_bare_name_warning()
    simgrid = SimGridProcess(*_simulator_arguments(args))
    url = simgrid.start()
    _say(f"grid simulator running at {url}", flush=True)
    config_file = os.path.join(home, ".gangarc")  # the demo's own, empty: the user's is never read
    embedded.write_config_file(config_file)
    summary: dict[str, Any] | None = None
    try:
        embedded.start(gangadir, config_file, [
            ("Configuration", "RUNTIME_PATH",
             "GangaDirac:GangaMonitoring" if args.backend == "Dirac" else "GangaMonitoring"),
            ("PollThread", "SimGrid", args.poll_interval),
            ("SimGrid", "server", url),
            ("Monitoring", "use_stock_monitoring", args.stock),
            # the simulated grid serves 8 requests at once: let downloads use all 8
            *([("Monitoring", "backend_concurrency", {args.backend: args.io_limit})] if args.io_limit > 0 else []),
            *([("Monitoring", "native_drivers", False), ("SimGrid", "max_batch", 100)] if args.compat else []),
            ("SimGrid", "timeout", min(10.0, args.hang_seconds / 2)),
            *(_dirac_options(home, url, args.poll_interval) if args.backend == "Dirac" else []),
            *thread_budget(args.threads),
            *(_option(setting) for setting in args.set),
        ])
        try:
            summary = _monitor_demo_job(args, simgrid.client())
            summary["grid_requests"] = simgrid.client().stats()["requests"]
            summary["cpu_s"], summary["peak_rss_mb"] = _resource_use(keep=simgrid)
            if args.json:  # written before Ganga stops: stock monitoring's stop first finishes every queued update
                write_json_atomically(args.json, summary, indent=2)
        finally:
            stopping = time.monotonic()
            _say("stopping Ganga...", flush=True)
            embedded.stop()
            if summary is not None:
                summary["stop_s"] = time.monotonic() - stopping
            _reap_children(keep=simgrid)
    finally:
        simgrid.stop()
        shutil.rmtree(home, ignore_errors=True)
        if args.gangadir is None:
            shutil.rmtree(gangadir, ignore_errors=True)
    if summary is None:
        return 1
    _say(f"Ganga stopped in {summary['stop_s']:.1f} s")
    if args.json:
        write_json_atomically(args.json, summary, indent=2)
    return 0 if summary["final"] == args.jobs and not summary["integrity_problems"] else 1


OUR_DEFAULT_THREADS = {"poll_workers": 12, "io_workers": 8, "cpu_workers": 2}
"""Ours' pools by default ([Monitoring]): 22 threads, split as a --threads budget is."""


def thread_budget(threads: int) -> list[tuple[str, str, Any]]:
    """The options that give either monitoring ``threads`` threads (none for 0): stock's update pool, and ours'
    pools in the proportions of their defaults (22 gives ours its defaults), at least one each."""
    if threads <= 0:
        return []
    total = sum(OUR_DEFAULT_THREADS.values())
    cpu = max(1, round(threads * OUR_DEFAULT_THREADS["cpu_workers"] / total))
    io = max(1, round(threads * OUR_DEFAULT_THREADS["io_workers"] / total))
    poll = max(1, threads - cpu - io)
    return [("PollThread", "update_thread_pool_size", threads), ("Monitoring", "poll_workers", poll),
            ("Monitoring", "io_workers", io), ("Monitoring", "cpu_workers", cpu)]


def _setting(text: str) -> str:
    """``--set``'s type: ``text`` itself, once it has the form :func:`_option` reads."""
    name, sep, _ = text.partition("=")
    section, dot, option = name.partition(".")
    if not (sep and dot and section and option):
        raise argparse.ArgumentTypeError(f"expected SECTION.OPTION=VALUE (e.g. Monitoring.poll_workers=16), "
                                         f"got {text!r}")
    return text


def _option(setting: str) -> tuple[str, str, Any]:
    """``"Monitoring.poll_workers=16"`` -> ``("Monitoring", "poll_workers", 16)``."""
    import ast

    name, sep, text = setting.partition("=")
    section, dot, option = name.partition(".")
    if not (sep and dot and section and option):
        raise SystemExit(f"--set {setting!r}: expected SECTION.OPTION=VALUE")
    try:
        value: Any = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text
    return section, option, value


def _dirac_options(home: str, url: str, poll_interval: float) -> list[tuple[str, str, Any]]:
    """Ganga's Dirac backend on a simulated DIRAC installation (in the demo's temp HOME) before ``url``."""
    from .simulator import fakedirac

    os.environ["X509_USER_PROXY"] = os.path.join(home, "x509up")
    fake = fakedirac.install(os.path.join(home, "diracos"), url)
    fakedirac.make_proxy()
    # [PollThread]Dirac is Ganga's own option, an int: Ganga's config ignores a float given for it
    rate = int(poll_interval) if float(poll_interval).is_integer() else poll_interval
    return [("PollThread", "Dirac", rate), *fake.ganga_options()]


def _simulator_arguments(args: argparse.Namespace) -> list[str]:
    arguments = ["--seed", str(args.seed), "--latency", str(args.latency),
                 "--max-concurrent", str(args.max_concurrent),
                 "--queue-time", *map(str, args.queue_time), "--run-time", *map(str, args.run_time),
                 "--failure-fraction", str(args.failure_fraction), "--error-rate", str(args.error_rate),
                 "--timeout-rate", str(args.timeout_rate), "--hang-seconds", str(args.hang_seconds),
                 "--malformed-rate", str(args.malformed_rate)]
    return arguments


def _monitor_demo_job(args: argparse.Namespace, grid: Any) -> dict[str, Any]:
    from GangaCore import GPI
    from GangaCore.Core import monitoring_component as mc

    mc.enable()  # on before submitting, as in a user's session
    started = time.monotonic()
    backend = getattr(GPI, args.backend)
    if args.plain:
        _say(f"submitting {args.jobs} jobs to the simulated grid...", flush=True)
        job = None
        work = []
        if args.burst:
            grid.hold(True)
        for n in range(args.jobs):
            # parallel_submit=False: with Ganga's default (True) each submit() hands its one
            # prepare to Ganga's thread pool and then sleeps 0.25 s per check for it, which
            # made ~0.38 s a job, two thirds of it sleeping (0.13 s without; both monitorings alike)
            plain = GPI.Job(name=f"gangamon-demo-{n}", backend=backend(), parallel_submit=False)
            plain.submit()
            work.append(plain)
        if args.burst:
            _say(f"releasing {grid.hold(False)} held jobs at once", flush=True)
    else:
        per_master = args.per_master if args.per_master > 0 else args.jobs
        masters = [GPI.Job(name=f"gangamon-demo-{first // per_master}", backend=backend(),
                           splitter=GPI.ArgSplitter(args=[[str(i)] for i in range(first,
                                                                                  min(args.jobs, first + per_master))]))
                   for first in range(0, args.jobs, per_master)]
        _say(f"submitting {args.jobs} subjobs in {len(masters)} job(s) to the simulated grid...", flush=True)
        if args.burst:
            grid.hold(True)
        for master in masters:
            master.submit()
        if args.burst:
            _say(f"releasing {grid.hold(False)} held jobs at once", flush=True)
        job = masters[0]
        work = [sj for master in masters for sj in master.subjobs]
    submit_s = time.monotonic() - started
    _say(f"submitted in {submit_s:.1f} s; monitoring with {type(mc).__name__}", flush=True)
    watched = job if job is not None else work[-1]
    for after, length in args.outage:
        outage = threading.Timer(after, grid.start_outage, [length])
        outage.daemon = True
        outage.start()

    prompt_latencies: list[float] = []
    slow_reads: list[list[float]] = []
    collector = CollectorTime()
    collector.start()
    typed = PromptOperations(GPI, job, collector)
    stalls = StallWatch(threshold=args.stall_report_after,
                        locks={"the first master's lock": _raw(job)._lock} if job is not None else None)
    stalls.start()
    deadline = time.monotonic() + args.timeout
    next_report = next_typed = 0.0
    while time.monotonic() < deadline:
        tick, computed, switched = time.perf_counter(), time.thread_time(), _switches()
        with stalls.timing("status read"):
            _ = watched.status  # a trivial GPI operation, timed as the prompt would feel it
        prompt_latencies.append(time.perf_counter() - tick)
        if prompt_latencies[-1] > SLOW_READ_S and len(slow_reads) < 100:
            voluntary, involuntary = _switches()
            slow_reads.append([round(1000 * prompt_latencies[-1], 2), round(1000 * (time.thread_time() - computed), 2),
                               voluntary - switched[0], involuntary - switched[1]])
        if time.monotonic() >= next_typed:  # what a user types, one kind a second, each timed apart
            with stalls.timing(typed.upcoming):
                typed.next()
            next_typed = time.monotonic() + TYPED_EVERY_S
        if time.monotonic() >= next_report:
            counts = _status_counts(work)
            _report_progress(counts, mc)
            next_report = time.monotonic() + 2.0
            if counts.get("completed", 0) + counts.get("failed", 0) == args.jobs:
                break
        time.sleep(READ_EVERY_S)
    stalls.stop()
    floor = _prompt_floor(GPI, job, collector, args.floor_ops, watched)
    collector.stop()
    counts = _status_counts(work)
    _report_progress(counts, mc)
    lags, drain = _lags(work, _grid_end_times(work, grid))
    outputs = sum(1 for sj in work if os.path.exists(os.path.join(sj.outputdir, "stdout")))
    summary: dict[str, Any] = {
        "monitoring": type(mc).__name__,
        "backend": args.backend,
        "subjobs": args.jobs,
        "plain_jobs": bool(args.plain),
        "per_master": args.per_master if not args.plain else None,
        "burst": bool(args.burst),
        "compat": bool(args.compat),
        "concurrency_limits": _limits(mc),
        "update_calls": _update_calls(mc),
        "submit_s": submit_s,
        "final": counts.get("completed", 0) + counts.get("failed", 0),
        "not_final": args.jobs - counts.get("completed", 0) - counts.get("failed", 0),
        "drain_s": drain,
        "integrity_problems": _integrity_problems(work),
        "completed": counts.get("completed", 0),
        "failed_on_grid": counts.get("failed", 0),
        "outputs_retrieved": outputs,
        "master_status": job.status if job is not None else None,
        "lag_s": {"p50": percentile(lags, .5), "p95": percentile(lags, .95), "max": max(lags, default=0.0)},
        "prompt_latency_ms": {
            "p50": 1000 * percentile(prompt_latencies, .5),
            "p99": 1000 * percentile(prompt_latencies, .99),
            "max": 1000 * max(prompt_latencies, default=0.0),
            "mean": 1000 * statistics.fmean(prompt_latencies) if prompt_latencies else 0.0,
        },
        "prompt_ops_ms": typed.summary(),
        "prompt_floor_ms": floor.summary() if floor is not None else None,
        "slow_reads": slow_reads,
        "collections": collector.summary(),
        "threads": args.threads,
        "poll_interval_s": args.poll_interval,
        "grid_latency_s": args.latency,
        "stalls": stalls.reports,
        "prompt_turn": _prompt_turn(),
    }
    _say(f"\n{summary['final']}/{args.jobs} subjobs final ({summary['completed']} completed, "
          f"{summary['failed_on_grid']} failed on the grid), {outputs} outputs retrieved")
    _say(summarise("lag from grid finish to Ganga final state", lags))
    _say(summarise("prompt latency", [1000 * x for x in prompt_latencies], unit="ms"))
    for kind, times in typed.times.items():
        _say(summarise(f"  {kind}", [1000 * x for x in times], unit="ms"))
    for kind, times in (floor.times if floor is not None else {}).items():
        _say(summarise(f"  {kind}, monitoring idle", [1000 * x for x in times], unit="ms"))
    drain_text = "n/a (not every job final)" if drain is None else f"{drain:.1f} s"
    _say(f"drain after the last grid finish: {drain_text}; outputs exactly once: "
          f"{'yes' if not summary['integrity_problems'] else summary['integrity_problems'][:3]}")
    return summary


def _limits(mc: Any) -> list[dict[str, Any]]:
    """Ours: each backend's concurrency limit per pool at the end, and why (stock has none)."""
    import dataclasses

    scheduler = getattr(mc, "scheduler", None)
    return [dataclasses.asdict(entry) for entry in scheduler.limits.statistics()] if scheduler is not None else []


def _update_calls(mc: Any) -> list[dict[str, Any]]:
    """Ours: the backend update calls made (the compatibility path's status requests), by cause."""
    import dataclasses

    calls = getattr(mc, "update_calls", None)
    return [dataclasses.asdict(entry) for entry in calls.statistics()] if calls is not None else []


class PromptOperations:
    """What a user types at the prompt while monitoring works, one kind per call, round robin, each timed:
    the ``jobs`` table, a master's subjob table (``j.subjobs``), ``print(j)`` of a master, and a write
    (``j.comment = ...``).  Displayed as Ganga's prompt displays them (``_display(True)``)."""

    def __init__(self, gpi: Any, master: Any, collector: CollectorTime | None = None) -> None:
        self.gpi, self.master, self.collector = gpi, master, collector
        kinds = [("jobs table", self._jobs_table)]
        if master is not None:
            kinds += [("subjob table", self._subjob_table), ("print(j)", self._print_master),
                      ("write j.comment", self._write)]
        self._kinds = kinds
        self._turn = 0
        self.times: dict[str, list[float]] = {name: [] for name, _ in kinds}
        self.collecting: dict[str, list[float]] = {name: [] for name, _ in kinds}
        """Per kind, per operation: seconds the garbage collector ran (any thread) while it was timed."""
        self.computing: dict[str, list[float]] = {name: [] for name, _ in kinds}
        """Per kind, per operation: CPU seconds of the prompt's own thread (the rest of its time it waited:
        for the GIL, a lock, or a core)."""
        self.others: dict[str, list[float]] = {name: [] for name, _ in kinds}
        """Per kind, per operation: CPU seconds of the process's other threads meanwhile (what ran while the
        prompt waited for the GIL; little of it while the prompt waited for a core)."""
        self.switches: dict[str, list[tuple[int, int]]] = {name: [] for name, _ in kinds}
        """Per kind, per operation: the prompt thread's context switches, (voluntary, involuntary): it blocked
        (on the GIL or a lock), or the kernel gave its core to another process's thread."""

    @property
    def upcoming(self) -> str:
        """The kind :meth:`next` times next."""
        return self._kinds[self._turn % len(self._kinds)][0]

    def next(self) -> None:
        name, operation = self._kinds[self._turn % len(self._kinds)]
        self._turn += 1
        collected = self.collector.seconds if self.collector is not None else 0.0
        computed, process, switched = time.thread_time(), time.process_time(), _switches()
        started = time.perf_counter()
        operation()
        self.times[name].append(time.perf_counter() - started)
        own = time.thread_time() - computed
        self.computing[name].append(own)
        self.others[name].append(max(0.0, time.process_time() - process - own))
        voluntary, involuntary = _switches()
        self.switches[name].append((voluntary - switched[0], involuntary - switched[1]))
        if self.collector is not None:
            self.collecting[name].append(self.collector.seconds - collected)

    def _jobs_table(self) -> None:
        self.gpi.jobs._display(True)

    def _subjob_table(self) -> None:
        self.master.subjobs._display(True)

    def _print_master(self) -> None:
        str(self.master)

    def _write(self) -> None:
        self.master.comment = f"typed at {time.time():.3f}"

    def summary(self) -> dict[str, dict[str, float]]:
        return {name: {"p50": 1000 * percentile(times, .5), "p95": 1000 * percentile(times, .95),
                       "max": 1000 * max(times, default=0.0), "n": len(times),
                       "collector_max": 1000 * max(self.collecting[name], default=0.0),
                       **self._slowest(name)}
                for name, times in self.times.items()}

    def _slowest(self, name: str) -> dict[str, Any]:
        """The slowest operation of a kind: its own CPU time and the collector's time within it (ms); and every
        operation's [wall, CPU, collector, other threads' CPU] in ms and its [voluntary, involuntary] context
        switches (``samples``)."""
        times = self.times[name]
        if not times:
            return {}
        slowest = times.index(max(times))
        collecting = self.collecting[name]
        return {"samples": [[round(1000 * t, 2), round(1000 * c, 2), round(1000 * g, 2), round(1000 * o, 2), *w]
                            for t, c, g, o, w in zip(times, self.computing[name], collecting or [0.0] * len(times),
                                                     self.others[name], self.switches[name], strict=True)],
                "slowest_cpu": 1000 * self.computing[name][slowest],
                "slowest_collector": 1000 * collecting[slowest] if collecting else 0.0,
                "cpu_p50": 1000 * percentile(self.computing[name], .5)}


READ_EVERY_S = 0.1
"""Seconds between two timed status reads at the demo's prompt (while monitoring works, and for the floor)."""
TYPED_EVERY_S = 1.0
"""Seconds between two timed operations a user types (one kind at a time, in turn)."""
SLOW_READ_S = 0.005
"""A status read slower than this is kept in the summary's ``slow_reads``: [wall ms, the thread's CPU ms,
voluntary, involuntary context switches] (the first 100)."""


def _switches() -> tuple[int, int]:
    """This thread's (voluntary, involuntary) context switches so far; (0, 0) where the OS cannot say."""
    import resource

    thread = getattr(resource, "RUSAGE_THREAD", None)
    if thread is None:
        return 0, 0
    usage = resource.getrusage(thread)
    return usage.ru_nvcsw, usage.ru_nivcsw


class CollectorTime:
    """How long the garbage collector ran, per generation, from ``gc.callbacks`` (a collection holds
    the GIL: every thread waits for it, the prompt's included)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        """Collector time so far, all generations (read by :class:`PromptOperations` around each operation)."""
        self.durations: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def start(self) -> None:
        import gc

        gc.callbacks.append(self._callback)

    def stop(self) -> None:
        import gc

        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        self.seconds += took
        self.durations[info["generation"]].append(took)

    def summary(self) -> dict[str, dict[str, float]]:
        return {f"gen{gen}": {"n": len(times), "total_ms": 1000 * sum(times), "max_ms": 1000 * max(times, default=0.0)}
                for gen, times in self.durations.items()}


class StallWatch:
    """Catches prompt stalls in the act: when the timed GPI operation runs longer than
    ``threshold``, a watcher thread records where every thread is (at most ``keep`` times per kind of
    operation), so a stall names its cause (the lock the main thread waits for, and who holds it).
    The watcher looks every ``threshold / 4`` (at most every 50 ms), so a stall is caught within
    1.25 x ``threshold`` of its start."""

    def __init__(self, threshold: float, keep: int = 3, locks: dict[str, Any] | None = None) -> None:
        self.threshold, self.keep = threshold, keep
        self.locks = dict(locks or {})
        """RLocks whose owner a report names (``holders``), with the owner's deeper stack."""
        self.reports: list[dict[str, Any]] = []
        self._started: float | None = None
        self._kind = ""
        self._reported = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="demo-stall-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    @contextlib.contextmanager
    def timing(self, kind: str = "") -> Any:
        self._kind, self._reported = kind, False
        self._started = time.perf_counter()
        try:
            yield
        finally:
            self._started = None

    def _watch(self) -> None:
        import traceback

        interval = min(0.05, self.threshold / 4)
        while not self._stop.wait(interval):
            started, kind = self._started, self._kind
            if started is None or self._reported or sum(r["kind"] == kind for r in self.reports) >= self.keep:
                continue
            waited = time.perf_counter() - started
            if waited < self.threshold:
                continue
            self._reported = True
            names = {t.ident: t.name for t in threading.enumerate()}
            frames = sys._current_frames()
            owners = {name: _owner(lock) for name, lock in self.locks.items()}
            stacks = {names.get(ident, str(ident)): "".join(traceback.format_stack(frame)[-40 if ident in
                                                                                          owners.values() else -12:])
                      for ident, frame in frames.items() if ident != threading.get_ident()}
            holders = {name: names.get(ident, str(ident)) for name, ident in owners.items() if ident is not None}
            self.reports.append({"kind": kind, "after_s": round(waited, 3), "holders": holders, "threads": stacks})


def _raw(job: Any) -> Any:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    return stripProxy(job)


def _owner(lock: Any) -> int | None:
    """The thread ident holding the RLock ``lock``, or None: read from its repr (``owner=<ident>``), which is
    all CPython says of it; for this diagnosis only, never for a decision."""
    match = re.search(r"owner=(\d+)", repr(lock))
    return int(match.group(1)) if match and match.group(1) != "0" else None


def _status_counts(work: list[Any]) -> dict[str, int]:
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    counts: dict[str, int] = {}
    for sj in work:
        status = stripProxy(sj).status  # raw objects: the GPI proxy layer costs 10x per read
        counts[status] = counts.get(status, 0) + 1
    return counts


def _report_progress(counts: dict[str, int], mc: Any) -> None:
    line = " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
    runner = getattr(mc, "runner", None)
    queue = f" | queue: {runner.statistics()}" if runner is not None else ""
    _say(f"  {line}{queue}", flush=True)


def _grid_end_times(work: list[Any], grid: Any) -> dict[int, float]:
    """When each job ended on the grid, by backend id, as the simulator says.

    SimGrid jobs carry it (``backend.finished_at``); a Dirac job's id on the
    simulated DIRAC's default site is its simulator id.
    """
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    ids = [stripProxy(sj).backend.id for sj in work]
    return {view["id"]: float(view["finished_at"]) for view in grid.status(i for i in ids if i is not None)
            if view.get("finished_at")}


def _lags(work: list[Any], grid_end: dict[int, float]) -> tuple[list[float], float | None]:
    """Seconds from each job's end on the grid to Ganga giving it its final state; and the drain:
    from the last end on the grid to the last final state (None unless every job is final)."""
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    lags = []
    last_grid_end = last_noticed = 0.0
    for sj in map(stripProxy, work):
        noticed = sj.time.timestamps.get("final")  # Ganga stamps final states as "final" (UTC)
        ended = grid_end.get(sj.backend.id)
        if sj.status not in ("completed", "failed") or noticed is None or not ended:
            continue
        noticed_at = noticed.replace(tzinfo=UTC).timestamp()
        lags.append(max(0.0, noticed_at - ended))
        last_grid_end, last_noticed = max(last_grid_end, ended), max(last_noticed, noticed_at)
    drain = max(0.0, last_noticed - last_grid_end) if len(lags) == len(work) else None
    return lags, drain


def _integrity_problems(work: list[Any]) -> list[str]:
    """Outputs must be there exactly once: a final job has its files and no leftover download."""
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    problems = []
    for sj in map(stripProxy, work):
        if sj.status not in ("completed", "failed"):
            continue
        names = set(os.listdir(sj.outputdir)) if os.path.isdir(sj.outputdir) else set()
        leftovers = sorted(n for n in names if n.startswith(".sandbox-"))
        if "stdout" not in names or leftovers:
            problems.append(f"{sj.getFQID('.')}: stdout {'present' if 'stdout' in names else 'missing'}, "
                            f"leftovers {leftovers}")
    return problems[:20]


def _resource_use(keep: Any) -> tuple[float, float]:
    """CPU seconds of this process and its worker processes (not the simulator), and peak RSS in MB."""
    import resource

    import psutil

    own = resource.getrusage(resource.RUSAGE_SELF)
    cpu = own.ru_utime + own.ru_stime
    spared = {keep._process.pid} if getattr(keep, "_process", None) is not None else set()
    for child in psutil.Process().children(recursive=True):
        if child.pid not in spared:
            with contextlib.suppress(psutil.Error):
                times = child.cpu_times()
                cpu += times.user + times.system
    return cpu, own.ru_maxrss / 1024


def _reap_children(keep: Any) -> None:
    """Kill processes Ganga left behind (Local-backend jobs), not the simulator."""
    import psutil

    spared = {keep._process.pid} if getattr(keep, "_process", None) is not None else set()
    for child in psutil.Process().children(recursive=True):
        if child.pid in spared:
            continue
        with contextlib.suppress(psutil.Error):
            child.kill()


def _prompt_floor(gpi: Any, job: Any, collector: CollectorTime, per_kind: int, watched: Any) -> PromptOperations | None:
    """The prompt's operations timed again with monitoring idle (every job final), at the pace of the run
    (:data:`READ_EVERY_S`, :data:`TYPED_EVERY_S`), ``per_kind`` of each kind.  None if ``per_kind`` is 0."""
    if per_kind <= 0:
        return None
    floor = PromptOperations(gpi, job, collector)
    next_typed = 0.0
    while min(len(times) for times in floor.times.values()) < per_kind:
        _ = watched.status
        if time.monotonic() >= next_typed:
            floor.next()
            next_typed = time.monotonic() + TYPED_EVERY_S
        time.sleep(READ_EVERY_S)
    return floor


def _prompt_turn() -> dict[str, Any]:
    """How often monitoring's workers waited for the prompt's tables and prints, and how long in all."""
    from . import patches

    turn = patches.PROMPT_TURN
    return {"turns": turn.turns, "held": turn.held, "held_s": round(turn.held_seconds, 3),
            "cut_short": turn.cut_short}


if __name__ == "__main__":
    sys.exit(run())

