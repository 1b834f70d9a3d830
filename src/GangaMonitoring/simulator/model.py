"""The simulated grid: jobs that queue, run and finish on a clock, 100k of them in memory.

Each job's life is drawn once, at submission, from seeded distributions:
queue time, run time and whether it fails.  Its state at any time follows
from those numbers, so nothing ticks per job; a heap of future transitions
feeds a change log, which answers DIRAC-style "what changed since cursor"
queries in O(changes).  Kills take effect at once.

Per job it keeps five numbers in ``array('d')`` columns (about 40 bytes a
job), and output sandboxes are generated on request, deterministically from
the seed and the job id, so 100,000 jobs cost a few MB.

Job ids are ``first_id`` plus the submission's rank.  The service gives each
run its own ``first_id`` (:func:`run_first_id`: the start time, so ids never
repeat across restarts and an old job's id is unknown to a new run), and a
job may carry a name given at submission (the submitter's token for it),
which every view reports: a client can tell an answer about another job.
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
from collections.abc import Iterable, Sequence

from ..core.clock import Clock


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


class RunFull(ValueError):
    """This run of the grid has given out all its :data:`IDS_PER_RUN` ids."""


IDS_PER_RUN = 2 ** 20
"""Jobs one run of the grid may take: its ids are ``first_id .. first_id + IDS_PER_RUN - 1``."""

ID_EPOCH_ORIGIN_NS = 1_577_836_800 * 10**9
"""2020-01-01T00:00:00Z in nanoseconds since the Unix epoch: run epochs count from it."""

ID_EPOCH_UNIT_NS = 10 * 10**6
"""Nanoseconds per run epoch (10 ms): a run waits at most this long before it serves."""


def run_first_id(now_ns: int) -> tuple[int, int]:
    """(first id of a run starting at ``now_ns``, the time in ns from which it may serve).

    The run's epoch is the first whole :data:`ID_EPOCH_UNIT_NS` step since
    :data:`ID_EPOCH_ORIGIN_NS` that begins after ``now_ns``, and the run
    serves only from that step's start: a later run (on the same address it
    starts after this one served) starts at or after it, so its epoch is
    larger, and as each run holds at most :data:`IDS_PER_RUN` ids the id
    ranges of two runs never overlap.  Stateless: no counter file to lose,
    share or lock; a wall clock stepped back is the one way to repeat,
    which is why views also carry each job's name.  Ids stay below 2**58
    until 2107.  Integer arithmetic: no rounding at the step boundaries.
    """
    since = now_ns - ID_EPOCH_ORIGIN_NS
    if since < 0:
        raise ValueError(f"the clock says {now_ns} ns, before 2020: cannot number this run's jobs")
    epoch = since // ID_EPOCH_UNIT_NS + 1
    return epoch * IDS_PER_RUN, ID_EPOCH_ORIGIN_NS + epoch * ID_EPOCH_UNIT_NS


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
    name: str | None = None
    """What the submitter named the job (None: unnamed)."""

    def as_dict(self) -> dict[str, object]:
        return {"id": self.job_id, "state": self.state.value, "submitted_at": self.submitted_at,
                "started_at": self.started_at, "finished_at": self.finished_at, "name": self.name}


@dataclass
class GridStatistics:
    jobs: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    changes_logged: int = 0


class SimulatedGrid:
    """Thread-safe; every query first applies the transitions due by ``clock.now()``.

    Its jobs' ids start at ``first_id``; inside, columns are indexed by
    ``id - first_id`` (the *index*), and only ids cross the interface.
    """

    def __init__(self, config: GridConfig, clock: Clock, first_id: int = 0) -> None:
        if first_id < 0:
            raise ValueError("first_id must not be negative")
        self.config = config
        self.clock = clock
        self.first_id = first_id
        self._names: list[str | None] = []
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
        """(job index, queue time, run time) of jobs submitted while held."""

    # -- commands ----------------------------------------------------------------

    def submit(self, count: int, names: Sequence[str] | None = None) -> list[int]:
        """Submit ``count`` jobs now, named ``names`` if given (one each); returns their ids (consecutive).

        Raises :class:`RunFull` (and submits nothing) past :data:`IDS_PER_RUN` jobs.
        """
        if count < 0:
            raise ValueError("count must not be negative")
        if names is not None and len(names) != count:
            raise ValueError(f"{len(names)} names for {count} jobs")
        with self._lock:
            now = self.clock.now()
            first = len(self._submitted)
            if first + count > IDS_PER_RUN:
                raise RunFull(f"this run of the grid has given out {first} of its {IDS_PER_RUN} job ids; "
                              f"{count} more do not fit: restart the simulator")
            self._names.extend(names if names is not None else [None] * count)
            for index in range(first, first + count):
                queued = self._rng.uniform(*self.config.queue_time)
                ran = self._rng.uniform(*self.config.run_time)
                self._submitted.append(now)
                self._killed.append(math.nan)
                self._fails.append(self._rng.random() < self.config.failure_fraction)
                self._change_log.append(index)
                if self._holding:
                    self._start.append(math.inf)
                    self._end.append(math.inf)
                    self._held.append((index, queued, ran))
                else:
                    self._schedule(index, now + queued, ran)
            return list(range(self.first_id + first, self.first_id + first + count))

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
            for index, queued, ran in held:
                self._schedule(index, now + queued, ran)
            return len(held)

    def kill(self, job_ids: Iterable[int]) -> list[int]:
        """Kill the given jobs that are not final yet; returns those killed."""
        with self._lock:
            now = self._advance()
            killed = []
            for job_id in job_ids:
                index = self._index(job_id)
                if self._state(index, now) not in FINAL_STATES:
                    self._killed[index] = now
                    self._change_log.append(index)
                    killed.append(job_id)
            return killed

    # -- queries -----------------------------------------------------------------

    def status(self, job_ids: Iterable[int]) -> list[JobView]:
        with self._lock:
            now = self._advance()
            return [self._view(self._index(job_id), now) for job_id in job_ids]

    def status_known(self, job_ids: Iterable[int]) -> tuple[list[JobView], list[int]]:
        """The views of the jobs the grid knows, and the ids it does not (as DIRAC answers per job)."""
        with self._lock:
            now = self._advance()
            views, unknown = [], []
            for job_id in job_ids:
                try:
                    index = self._index(job_id)
                except UnknownJob:
                    unknown.append(job_id)
                    continue
                views.append(self._view(index, now))
            return views, unknown

    def kill_known(self, job_ids: Iterable[int]) -> tuple[list[int], list[int]]:
        """Kill the known jobs (see :meth:`kill`); returns (killed, unknown ids)."""
        ids = list(job_ids)
        with self._lock:
            unknown = [i for i in ids if not self._known(i)]
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
            return len(self._change_log), [self._view(index, now) for index in changed]

    def output(self, job_id: int) -> bytes:
        """The job's output sandbox as a .tar.gz (generated, deterministic)."""
        with self._lock:
            now = self._advance()
            state = self._state(self._index(job_id), now)
        if state not in (GridState.DONE, GridState.FAILED):
            raise OutputNotReady(f"job {job_id} is {state.value}: no output yet")
        return build_sandbox(self.config, job_id, state)

    def statistics(self) -> GridStatistics:
        with self._lock:
            now = self._advance()
            by_state: dict[str, int] = {}
            for index in range(len(self._submitted)):
                state = self._state(index, now).value
                by_state[state] = by_state.get(state, 0) + 1
            return GridStatistics(len(self._submitted), by_state, len(self._change_log))

    def __len__(self) -> int:
        return len(self._submitted)

    # -- internals (under the lock) ----------------------------------------------

    def _schedule(self, index: int, start: float, run_time: float) -> None:
        """Set a job's start and end, and queue its two transitions."""
        end = start + run_time
        if index < len(self._start):
            self._start[index], self._end[index] = start, end
        else:
            self._start.append(start)
            self._end.append(end)
        heapq.heappush(self._transitions, (start, index))
        heapq.heappush(self._transitions, (end, index))

    def _advance(self) -> float:
        """Move due transitions into the change log; returns now."""
        now = self.clock.now()
        transitions = self._transitions
        while transitions and transitions[0][0] <= now:
            _, index = heapq.heappop(transitions)
            if math.isnan(self._killed[index]):
                self._change_log.append(index)
        return now

    def _known(self, job_id: object) -> bool:
        return (isinstance(job_id, int) and not isinstance(job_id, bool)
                and 0 <= job_id - self.first_id < len(self._submitted))

    def _index(self, job_id: int) -> int:
        """The column index of a job id; :class:`UnknownJob` if this grid never gave it out."""
        if not self._known(job_id):
            raise UnknownJob(job_id)
        return job_id - self.first_id

    def _state(self, index: int, now: float) -> GridState:
        if not math.isnan(self._killed[index]):
            return GridState.KILLED
        if now < self._start[index]:
            return GridState.WAITING
        if now < self._end[index]:
            return GridState.RUNNING
        return GridState.FAILED if self._fails[index] else GridState.DONE

    def _view(self, index: int, now: float) -> JobView:
        state = self._state(index, now)
        started = self._start[index] if now >= self._start[index] else None
        if state is GridState.KILLED:
            finished: float | None = self._killed[index]
            if started is not None and started > self._killed[index]:
                started = None
        else:
            finished = self._end[index] if state in FINAL_STATES else None
        return JobView(self.first_id + index, state, self._submitted[index], started, finished,
                       self._names[index])


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
