"""A fake HTCondor on this machine, for tests and benchmarks: the ``htcondor`` and ``classad`` modules Ganga uses.

Ganga 8.7's Condor backend talks to HTCondor through its Python bindings
only: ``htcondor.Schedd().submit(Submit(...), itemdata=...)`` to submit,
``Schedd().query(constraint=ExprTree, projection=[...])`` to poll (what
``condor_q`` would answer), ``Schedd().act(JobAction.Remove, ...)`` to kill,
and it reads the job event log (``log = condorLog``, in the job's output
directory) and the job's ``stdout`` for how a job that left the queue ended.
:func:`install` puts modules named ``htcondor`` and ``classad`` in
``sys.modules`` that do that against :class:`FakeCondor`, a schedd living in
this process (it must run before Ganga imports ``GangaCore.Lib.Condor``):

- a submitted job is written a ``000`` event and is idle; it starts at once
  (or after ``start_delay``, within ``slots``): its executable and input files
  are copied into a scratch directory, a ``001`` event is written, and the
  executable runs there as a local process (``arguments`` split on blanks,
  an environment of ``PATH``, ``HOME`` and the ``environment`` option unless
  ``getenv`` is true);
- when it exits, its stdout and stderr (``output``, ``error``) and its
  ``transfer_output_files`` (default: every file it made) are copied to its
  ``initialdir``, then its ``005`` event is written (``(1) Normal termination
  (return value N)`` or ``(0) Abnormal termination (signal N)``), then it
  leaves the queue (after ``linger`` seconds in state 4, Completed) - as
  HTCondor's shadow does, output first, event next;
- ``act(Remove)`` kills its process group, writes ``009`` (``Job was aborted``)
  and takes it off the queue; :meth:`FakeCondor.hold` writes ``012`` and holds it.

Each event is appended whole, by one write: the schedd's (``000``) closing the
file after it, the job's "shadow" (``001`` to its end) keeping it open from
the job's start to its end, as HTCondor's shadow does.  Counted:
``queries`` (each ``Schedd.query``: what ``condor_q`` calls would be), ``submits``,
``removes``.  The queue lives as long as this process: a session that ends
leaves its jobs running, as HTCondor does, but a new process has a new queue.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections.abc import Iterable, Mapping
from typing import Any

IDLE, RUNNING, REMOVED, COMPLETED, HELD = 1, 2, 3, 4, 5
HOST = "127.0.0.1:9618?addrs=127.0.0.1-9618&alias=fake-condor"
"""The address the events and ``RemoteHost`` name (one execute node: this machine)."""


class HTCondorIOError(RuntimeError):
    """The bindings' error for a schedd that does not answer."""


class ExprTree:
    """A ClassAd expression as its text; ``and_``/``or_`` combine, :meth:`evaluate` reads it against an ad."""

    def __init__(self, text: str) -> None:
        self.text = str(text)

    def and_(self, other: ExprTree) -> ExprTree:
        return ExprTree(f"({self.text}) && ({other.text})")

    def or_(self, other: ExprTree) -> ExprTree:
        return ExprTree(f"({self.text}) || ({other.text})")

    def __str__(self) -> str:
        return self.text

    def evaluate(self, ad: Mapping[str, Any]) -> bool:
        """The expression's truth for ``ad`` (attribute names without case, ``&&``, ``||``, ``!``, comparisons)."""
        lowered = {key.lower(): value for key, value in ad.items()}

        def name(found: re.Match[str]) -> str:
            word = found.group(0)
            if word.lower() in ("true", "false"):
                return word.capitalize()
            return repr(lowered.get(word.lower()))

        python = re.sub(r"[A-Za-z_]\w*", name, self.text)
        python = python.replace("&&", " and ").replace("||", " or ").replace("!=", " <> ")
        python = python.replace("!", " not ").replace(" <> ", " != ")
        return bool(eval(python, {"__builtins__": {}}, {}))  # noqa: S307 - a test engine's own expressions


class _Job:
    def __init__(self, cluster: int, proc: int, ad: dict[str, str]) -> None:
        self.cluster, self.proc, self.ad = cluster, proc, ad
        self.status = IDLE
        self.process: subprocess.Popen[bytes] | None = None
        self.ended = False
        self.directory = ad.get("initialdir") or os.getcwd()
        self.shadow: Any = None
        """The log as the job's shadow holds it open, from its start to its end (None: not started or ended)."""

    @property
    def log(self) -> str | None:
        name = self.ad.get("log")
        return os.path.join(self.directory, name) if name else None


class FakeCondor:
    """The schedd and its one execute node (see the module's docstring)."""

    def __init__(self, slots: int = 64, start_delay: float = 0.0, linger: float = 0.0) -> None:
        self.slots = threading.BoundedSemaphore(slots)
        self.start_delay = start_delay
        self.linger = linger
        self._lock = threading.Lock()
        self._clusters = itertools.count(1)
        self.jobs: dict[tuple[int, int], _Job] = {}
        """The queue: (cluster, proc) -> job, until the job leaves it."""
        self.queries = 0
        self.submits = 0
        self.removes = 0

    # -- what the bindings call --------------------------------------------------

    def submit(self, description: Mapping[str, str], items: Iterable[Mapping[str, str]]) -> tuple[int, int, int]:
        """Queue one job per item (the description overridden by the item); (cluster, first proc, count)."""
        with self._lock:
            self.submits += 1
            cluster = next(self._clusters)
            jobs = [_Job(cluster, proc, {**{k.lower(): str(v) for k, v in description.items()},
                                         **{k.lower(): str(v) for k, v in item.items()}})
                    for proc, item in enumerate(items or [{}])]
            for job in jobs:
                self.jobs[(cluster, job.proc)] = job
        for job in jobs:
            self._event(job, 0, f"Job submitted from host: <{HOST}>")
            threading.Thread(target=self._run, args=(job,), name=f"fake-condor-{cluster}.{job.proc}",
                             daemon=True).start()
        return cluster, 0, len(jobs)

    def query(self, constraint: Any = None, projection: Iterable[str] = ()) -> list[dict[str, Any]]:
        """The queued jobs ``constraint`` selects, as ads (``ClusterId``, ``ProcId``, ``JobStatus``, ...)."""
        expression = constraint if isinstance(constraint, ExprTree) else ExprTree(str(constraint or "true"))
        with self._lock:
            self.queries += 1
            ads = [self._ad(job) for job in self.jobs.values()]
        wanted = {name.lower() for name in projection}
        return [{k: v for k, v in ad.items() if not wanted or k.lower() in wanted}
                for ad in ads if expression.evaluate(ad)]

    def act(self, action: str, constraint: Any) -> dict[str, int]:
        """``JobAction.Remove`` of the jobs ``constraint`` selects (each: ``009``, its process killed)."""
        expression = constraint if isinstance(constraint, ExprTree) else ExprTree(str(constraint))
        with self._lock:
            self.removes += 1
            chosen = [job for job in self.jobs.values() if expression.evaluate(self._ad(job))]
        for job in chosen:
            self._end(job, 9, "Job was aborted.", ("Via condor_rm (by user fake)",))
        return {"TotalSuccess": len(chosen), "TotalError": 0, "TotalJobAds": len(chosen)}

    # -- what tests do to a job ----------------------------------------------------

    def hold(self, cluster: int, proc: int, reason: str = "held by a test") -> None:
        """Hold a queued job: its process killed, a ``012`` event, ``JobStatus`` 5."""
        with self._lock:
            job = self.jobs[(cluster, proc)]
            job.status = HELD
        self._kill(job)
        self._event(job, 12, "Job was held.", (reason, "Code 1 Subcode 0"))
        self._close_shadow(job)  # its shadow exits

    # -- the engine ------------------------------------------------------------------

    @staticmethod
    def _ad(job: _Job) -> dict[str, Any]:
        ad: dict[str, Any] = {"ClusterId": job.cluster, "ProcId": job.proc, "JobStatus": job.status,
                              "RemoteUserCpu": 0.0}
        if job.status == RUNNING:
            ad["RemoteHost"] = f"slot1@{HOST.split(':')[0]}"
        return ad

    def _run(self, job: _Job) -> None:
        if self.start_delay:
            time.sleep(self.start_delay)
        with self.slots:
            scratch = tempfile.mkdtemp(prefix=f"fake-condor-{job.cluster}.{job.proc}-")
            try:
                self._execute(job, scratch)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)

    def _execute(self, job: _Job, scratch: str) -> None:
        ad = job.ad
        inputs = [ad["executable"], *(p for p in ad.get("transfer_input_files", "").split(",") if p.strip())]
        for path in inputs:
            shutil.copy(path.strip(), scratch)
        command = [os.path.join(scratch, os.path.basename(ad["executable"])), *ad.get("arguments", "").split()]
        os.chmod(command[0], 0o755)
        before = set(os.listdir(scratch))
        out_path, err_path = os.path.join(scratch, ".fake_stdout"), os.path.join(scratch, ".fake_stderr")
        with self._lock:
            if job.ended or job.status == HELD:
                return
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                job.process = subprocess.Popen(command, cwd=scratch, stdout=out, stderr=err,
                                               env=self._environment(ad, scratch), start_new_session=True)
            job.status = RUNNING
            job.shadow = open(job.log, "a", encoding="utf-8") if job.log else None  # noqa: SIM115 - to its end
        self._event(job, 1, f"Job executing on host: <{HOST}>")
        code = job.process.wait()
        with self._lock:
            if job.ended or job.status == HELD:
                return
        self._transfer(job, scratch, before, out_path, err_path)
        how = f"(1) Normal termination (return value {code})" if code >= 0 else \
            f"(0) Abnormal termination (signal {-code})"
        body = (how, "Usr 0 00:00:00, Sys 0 00:00:00  -  Run Remote Usage",
                "Usr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage")
        if self.linger:
            with self._lock:
                job.status = COMPLETED
        self._end(job, 5, "Job terminated.", body, linger=self.linger)

    @staticmethod
    def _environment(ad: Mapping[str, str], scratch: str) -> dict[str, str]:
        if ad.get("getenv", "false").lower() == "true":
            env = dict(os.environ)
        else:
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", scratch)}
        for pair in ad.get("environment", "").split(";"):
            key, sep, value = pair.partition("=")
            if sep and key.strip():
                env[key.strip()] = value
        env["_CONDOR_SCRATCH_DIR"] = scratch
        return env

    @staticmethod
    def _transfer(job: _Job, scratch: str, before: set[str], out_path: str, err_path: str) -> None:
        """Output back to the job's directory: stdout, stderr, then its output files."""
        ad = job.ad
        shutil.copy(out_path, os.path.join(job.directory, ad.get("output", "_condor_stdout")))
        shutil.copy(err_path, os.path.join(job.directory, ad.get("error", "_condor_stderr")))
        listed = [p.strip() for p in ad.get("transfer_output_files", "").split(",") if p.strip()]
        made = listed or sorted(set(os.listdir(scratch)) - before - {".fake_stdout", ".fake_stderr"})
        for name in made:
            source = os.path.join(scratch, name)
            if os.path.isfile(source):
                shutil.copy(source, os.path.join(job.directory, os.path.basename(name)))

    def _end(self, job: _Job, code: int, text: str, body: tuple[str, ...], linger: float = 0.0) -> None:
        with self._lock:
            if job.ended:
                return
            job.ended = True
        self._kill(job)
        self._event(job, code, text, body)
        self._close_shadow(job)
        if linger:
            time.sleep(linger)
        with self._lock:
            self.jobs.pop((job.cluster, job.proc), None)

    def _close_shadow(self, job: _Job) -> None:
        with self._lock:
            shadow, job.shadow = job.shadow, None
        if shadow is not None:
            shadow.close()

    @staticmethod
    def _kill(job: _Job) -> None:
        process = job.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def _event(self, job: _Job, code: int, text: str, body: tuple[str, ...] = ()) -> None:
        """Append one whole event to the job's log (HTCondor's ``NNN (c.ppp.sss) date time``) in one write:
        through its shadow's open file while it runs, else opened and closed for it."""
        path = job.log
        if path is None:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
        lines = [f"{code:03d} ({job.cluster:03d}.{job.proc:03d}.000) {stamp} {text}", *(f"\t{b}" for b in body),
                 "..."]
        event = "\n".join(lines) + "\n"
        with self._lock:
            if job.shadow is not None:
                job.shadow.write(event)
                job.shadow.flush()
                return
        with open(path, "a", encoding="utf-8") as log:
            log.write(event)


_CURRENT: FakeCondor | None = None


def current() -> FakeCondor:
    """The schedd :func:`install` made in this process."""
    if _CURRENT is None:
        raise RuntimeError("fakecondor.install() was not called in this process")
    return _CURRENT


def install(**options: Any) -> FakeCondor:
    """A fresh :class:`FakeCondor` behind modules ``htcondor`` and ``classad`` in ``sys.modules`` (replaced)."""
    global _CURRENT
    engine = _CURRENT = FakeCondor(**options)
    sys.modules["htcondor"] = _bindings()
    sys.modules["classad"] = types.SimpleNamespace(ExprTree=ExprTree)  # type: ignore[assignment]
    return engine


def _bindings() -> Any:
    """The ``htcondor`` module's names Ganga uses, each answering from :func:`current`."""

    class Submit(dict[str, str]):
        pass

    class SubmitResult:
        def __init__(self, cluster: int, first: int, count: int) -> None:
            self._answer = (cluster, first, count)

        def cluster(self) -> int:
            return self._answer[0]

        def first_proc(self) -> int:
            return self._answer[1]

        def num_procs(self) -> int:
            return self._answer[2]

    class Schedd:
        def submit(self, description: Mapping[str, str], count: int = 1,
                   itemdata: Iterable[Mapping[str, str]] | None = None) -> SubmitResult:
            items = list(itemdata) if itemdata is not None else [{}] * count
            return SubmitResult(*current().submit(description, items))

        def query(self, constraint: Any = None, projection: Iterable[str] = ()) -> list[dict[str, Any]]:
            return current().query(constraint, projection)

        def act(self, action: str, constraint: Any) -> dict[str, int]:
            return current().act(action, constraint)

    class Credd:
        def add_user_cred(self, *args: Any) -> None:
            pass

    return types.SimpleNamespace(
        Schedd=Schedd, Submit=Submit, Collector=lambda *a, **k: object(), Credd=Credd,
        CredTypes=types.SimpleNamespace(Kerberos="Kerberos"),
        JobAction=types.SimpleNamespace(Remove="Remove", Hold="Hold", Release="Release"),
        HTCondorIOError=HTCondorIOError)
