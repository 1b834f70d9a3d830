"""The simulated grid: jobs that queue, run and finish on a clock, 100k of them in memory.

Each job's life is drawn once, at submission, from seeded distributions:
queue time, run time and whether it fails.  Its state at any time follows
from those numbers, so nothing ticks per job; a heap of future transitions
feeds a change log, which answers DIRAC-style "what changed since cursor"
queries in O(changes).  Kills take effect at once.

Per job it keeps five numbers in ``array('d')`` columns (about 40 bytes a
job), and output sandboxes are generated on request, deterministically from
the seed and the job id, so 100,000 jobs cost a few MB.
"""

from __future__ import annotations

import enum
import heapq
import io
import math
import random
import tarfile
import threading
from array import array
from dataclasses import dataclass, field
from collections.abc import Iterable

from .._core.clock import Clock


class GridState(str, enum.Enum):
    """A simulated job's state, named as DIRAC names them."""

    WAITING = "Waiting"
    RUNNING = "Running"
    DONE = "Done"
    FAILED = "Failed"
    KILLED = "Killed"


FINAL_STATES = frozenset({GridState.DONE, GridState.FAILED, GridState.KILLED})


class UnknownJob(KeyError):
    """The grid never had a job with this id."""


class OutputNotReady(RuntimeError):
    """The job has not finished, so it has no output sandbox yet."""


@dataclass(frozen=True)
class GridConfig:
    """How simulated jobs behave. Times in seconds; ranges are uniform (low, high)."""

    seed: int = 0
    queue_time: tuple[float, float] = (0.0, 2.0)
    run_time: tuple[float, float] = (1.0, 5.0)
    failure_fraction: float = 0.0
    output_files: int = 2
    output_bytes: int = 4096
    """Bytes per output file (besides a small ``stdout``)."""

    def __post_init__(self) -> None:
        for name in ("queue_time", "run_time"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"{name} must be 0 <= low <= high, got {(low, high)}")
        if not 0 <= self.failure_fraction <= 1:
            raise ValueError("failure_fraction must be within [0, 1]")
        if self.output_files < 0 or self.output_bytes < 0:
            raise ValueError("output_files and output_bytes must not be negative")


@dataclass(frozen=True)
class JobView:
    """What the grid reports about one job."""

    job_id: int
    state: GridState
    submitted_at: float
    started_at: float | None
    finished_at: float | None

    def as_dict(self) -> dict[str, object]:
        return {"id": self.job_id, "state": self.state.value, "submitted_at": self.submitted_at,
                "started_at": self.started_at, "finished_at": self.finished_at}


@dataclass
class GridStatistics:
    jobs: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    changes_logged: int = 0


class SimulatedGrid:
    """Thread-safe; every query first applies the transitions due by ``clock.now()``."""

    def __init__(self, config: GridConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()
        self._submitted = array("d")
        self._start = array("d")
        self._end = array("d")
        self._killed = array("d")  # nan: not killed
        self._fails = bytearray()
        self._transitions: list[tuple[float, int]] = []
        self._change_log: list[int] = []
        self._holding = False
        self._held: list[tuple[int, float, float]] = []
        """(job id, queue time, run time) of jobs submitted while held."""

    # -- commands ----------------------------------------------------------------

    def submit(self, count: int) -> list[int]:
        """Submit ``count`` jobs now; returns their ids (consecutive)."""
        if count < 0:
            raise ValueError("count must not be negative")
        with self._lock:
            now = self.clock.now()
            first = len(self._submitted)
            for job_id in range(first, first + count):
                queued = self._rng.uniform(*self.config.queue_time)
                ran = self._rng.uniform(*self.config.run_time)
                self._submitted.append(now)
                self._killed.append(math.nan)
                self._fails.append(self._rng.random() < self.config.failure_fraction)
                self._change_log.append(job_id)
                if self._holding:
                    self._start.append(math.inf)
                    self._end.append(math.inf)
                    self._held.append((job_id, queued, ran))
                else:
                    self._schedule(job_id, now + queued, ran)
            return list(range(first, first + count))

    def hold(self) -> None:
        """From now on, submitted jobs wait (``Waiting``) until :meth:`release`.

        For bursts: jobs submitted over minutes all start their queue time at
        one moment, so they finish within ``queue_time + run_time`` of it.
        """
        with self._lock:
            self._holding = True

    def release(self) -> int:
        """Start the queue time of every held job now; returns how many there were."""
        with self._lock:
            now = self._advance()
            held, self._held, self._holding = self._held, [], False
            for job_id, queued, ran in held:
                self._schedule(job_id, now + queued, ran)
            return len(held)

    def kill(self, job_ids: Iterable[int]) -> list[int]:
        """Kill the given jobs that are not final yet; returns those killed."""
        with self._lock:
            now = self._advance()
            killed = []
            for job_id in job_ids:
                self._check(job_id)
                if self._state(job_id, now) not in FINAL_STATES:
                    self._killed[job_id] = now
                    self._change_log.append(job_id)
                    killed.append(job_id)
            return killed

    # -- queries -----------------------------------------------------------------

    def status(self, job_ids: Iterable[int]) -> list[JobView]:
        with self._lock:
            now = self._advance()
            views = []
            for job_id in job_ids:
                self._check(job_id)
                views.append(self._view(job_id, now))
            return views

    def status_known(self, job_ids: Iterable[int]) -> tuple[list[JobView], list[int]]:
        """The views of the jobs the grid knows, and the ids it does not (as DIRAC answers per job)."""
        with self._lock:
            now = self._advance()
            views, unknown = [], []
            for job_id in job_ids:
                try:
                    self._check(job_id)
                except UnknownJob:
                    unknown.append(job_id)
                    continue
                views.append(self._view(job_id, now))
            return views, unknown

    def kill_known(self, job_ids: Iterable[int]) -> tuple[list[int], list[int]]:
        """Kill the known jobs (see :meth:`kill`); returns (killed, unknown ids)."""
        ids = list(job_ids)
        with self._lock:
            unknown = [i for i in ids if not (isinstance(i, int) and 0 <= i < len(self._submitted))]
        return self.kill(i for i in ids if i not in set(unknown)), unknown

    def changes(self, cursor: int) -> tuple[int, list[JobView]]:
        """Jobs whose state changed after ``cursor`` (0: from the start) and the next cursor.

        A negative cursor asks only for the current cursor (no jobs): a client
        takes it before a full status read, so no change falls between the two.
        """
        with self._lock:
            now = self._advance()
            if cursor < 0:
                return len(self._change_log), []
            cursor = min(int(cursor), len(self._change_log))
            changed = dict.fromkeys(self._change_log[cursor:])
            return len(self._change_log), [self._view(job_id, now) for job_id in changed]

    def output(self, job_id: int) -> bytes:
        """The job's output sandbox as a .tar.gz (generated, deterministic)."""
        with self._lock:
            now = self._advance()
            self._check(job_id)
            state = self._state(job_id, now)
        if state not in (GridState.DONE, GridState.FAILED):
            raise OutputNotReady(f"job {job_id} is {state.value}: no output yet")
        return build_sandbox(self.config, job_id, state)

    def statistics(self) -> GridStatistics:
        with self._lock:
            now = self._advance()
            by_state: dict[str, int] = {}
            for job_id in range(len(self._submitted)):
                state = self._state(job_id, now).value
                by_state[state] = by_state.get(state, 0) + 1
            return GridStatistics(len(self._submitted), by_state, len(self._change_log))

    def __len__(self) -> int:
        return len(self._submitted)

    # -- internals (under the lock) ----------------------------------------------

    def _schedule(self, job_id: int, start: float, run_time: float) -> None:
        """Set a job's start and end, and queue its two transitions."""
        end = start + run_time
        if job_id < len(self._start):
            self._start[job_id], self._end[job_id] = start, end
        else:
            self._start.append(start)
            self._end.append(end)
        heapq.heappush(self._transitions, (start, job_id))
        heapq.heappush(self._transitions, (end, job_id))

    def _advance(self) -> float:
        """Move due transitions into the change log; returns now."""
        now = self.clock.now()
        transitions = self._transitions
        while transitions and transitions[0][0] <= now:
            _, job_id = heapq.heappop(transitions)
            if math.isnan(self._killed[job_id]):
                self._change_log.append(job_id)
        return now

    def _check(self, job_id: int) -> None:
        if not isinstance(job_id, int) or not 0 <= job_id < len(self._submitted):
            raise UnknownJob(job_id)

    def _state(self, job_id: int, now: float) -> GridState:
        if not math.isnan(self._killed[job_id]):
            return GridState.KILLED
        if now < self._start[job_id]:
            return GridState.WAITING
        if now < self._end[job_id]:
            return GridState.RUNNING
        return GridState.FAILED if self._fails[job_id] else GridState.DONE

    def _view(self, job_id: int, now: float) -> JobView:
        state = self._state(job_id, now)
        started = self._start[job_id] if now >= self._start[job_id] else None
        if state is GridState.KILLED:
            finished: float | None = self._killed[job_id]
            if started is not None and started > self._killed[job_id]:
                started = None
        else:
            finished = self._end[job_id] if state in FINAL_STATES else None
        return JobView(job_id, state, self._submitted[job_id], started, finished)


def build_sandbox(config: GridConfig, job_id: int, state: GridState) -> bytes:
    """A real .tar.gz: ``stdout`` plus ``output_files`` files of ``output_bytes`` bytes each."""
    rng = random.Random(config.seed * 1_000_003 + job_id)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        _add(tar, "stdout", f"simulated job {job_id} ended {state.value}\n".encode())
        for n in range(config.output_files):
            _add(tar, f"out_{n}.dat", rng.randbytes(config.output_bytes))
    return buffer.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
