"""``queues.notify(jobs, command=None)``: tell the user when every job of a set has become final.

A :class:`FinalWatch` listens to status changes (``patches.add_status_listener``,
subjobs included) and keeps the last status of each job of its set; when all
are final it removes itself and, off the thread that changed the status (a
short-lived daemon thread), runs ``command`` through the shell with
``GANGA_JOBS`` ("3 4.1") and ``GANGA_STATUSES`` ("completed failed") in its
environment, or with no command prints one line at the prompt.  A command
that fails (exit status, cannot start, runs past :data:`COMMAND_TIMEOUT`) is
said in one line; monitoring never waits for it.

The listener runs under the changed job's lock: it only reads that job's id
and writes its own table, never another job.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable
from typing import Any

from ..core.work import JobKey
from .. import patches

FINAL = frozenset({"completed", "failed", "killed"})
COMMAND_TIMEOUT = 600.0
"""Seconds a notify command may run before it is said to have hung (and is killed)."""


def key_of(raw: Any) -> JobKey:
    master = raw._getParent() if hasattr(raw, "_getParent") else None
    if master is not None:
        return JobKey(int(master.id), int(raw.id))
    return JobKey(int(raw.id))


def listened_key(raw: Any) -> JobKey | None:
    """A status listener's job key: None for a job being built, which has no id yet (never one waited for)."""
    try:
        return key_of(raw)
    except Exception:  # noqa: BLE001 - no id yet: any error of reading it says so
        return None


class FinalWatch:
    """Waits for every job of ``statuses`` (key -> its status now) to be final, then notifies once."""

    def __init__(self, statuses: dict[JobKey, str], command: str | None,
                 say: Callable[[str], None]) -> None:
        self._lock = threading.Lock()
        self._statuses = dict(statuses)
        self._command = command
        self._say = say
        self._done = False
        self.thread: threading.Thread | None = None
        """The thread that notified (for tests: join it)."""

    def start(self) -> None:
        """Listen for changes; notifies at once when every job is final already."""
        patches.add_status_listener(self.changed, subjobs=True)
        self._check()

    def cancel(self) -> None:
        patches.remove_status_listener(self.changed)

    def changed(self, job: Any, status: str) -> None:
        """A status listener: quick, reads only ``job``."""
        key = listened_key(job)
        with self._lock:
            if key not in self._statuses:
                return
            self._statuses[key] = status
        self._check()

    def waiting_for(self) -> list[JobKey]:
        with self._lock:
            return sorted(key for key, status in self._statuses.items() if status not in FINAL)

    def _check(self) -> None:
        with self._lock:
            if self._done or any(status not in FINAL for status in self._statuses.values()):
                return
            self._done = True
            ended = sorted(self._statuses.items())
        self.cancel()
        self.thread = threading.Thread(target=self._notify, args=(ended,), name="GangaMon-notify", daemon=True)
        self.thread.start()

    def _notify(self, ended: list[tuple[JobKey, str]]) -> None:
        ids = " ".join(key.fqid for key, _ in ended)
        statuses = " ".join(status for _, status in ended)
        if self._command is None:
            said = ", ".join(f"{key.fqid} {status}" for key, status in ended)
            self._say(f"all {len(ended)} job(s) you asked about are final: {said}")
            return
        env = {**os.environ, "GANGA_JOBS": ids, "GANGA_STATUSES": statuses}
        try:
            result = subprocess.run(self._command, shell=True, env=env, capture_output=True, text=True,
                                    timeout=COMMAND_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            self._say(f"the notify command for jobs {ids} ran past {COMMAND_TIMEOUT:.0f} s and was stopped")
            return
        except OSError as err:
            self._say(f"the notify command for jobs {ids} could not run: {err}")
            return
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or [""])[-1][:200]
            self._say(f"the notify command for jobs {ids} failed (exit status {result.returncode})"
                      + (f": {last}" if last else ""))
