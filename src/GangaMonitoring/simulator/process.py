"""Start and stop the simulator service as a real subprocess (tests, benchmarks, the demo)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from typing import Any

import GangaMonitoring

from .client import SimGridClient

_LISTENING = re.compile(r"simgrid listening on (http://\S+)")


class SimGridProcess:
    """``with SimGridProcess("--latency", "0.05") as url: ...`` runs one simulator for the block."""

    def __init__(self, *args: str, start_timeout: float = 30.0) -> None:
        self.args = list(args)
        self.start_timeout = start_timeout
        self.url: str | None = None
        self._process: subprocess.Popen[str] | None = None
        self._lines: list[str] = []

    def start(self) -> str:
        """Start the simulator from this very ``GangaMonitoring`` (its directory leads ``PYTHONPATH``:
        a Ganga session may have changed the variable, and another copy's simulator would speak
        another version of the API); returns its URL."""
        command = [sys.executable, "-m", "GangaMonitoring.simulator.server", "--port", "0",
                   "--parent-pid", str(os.getpid()), *self.args]
        source = os.path.dirname(os.path.dirname(os.path.abspath(GangaMonitoring.__file__)))
        path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH", "")) if p)
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                         env={**os.environ, "PYTHONPATH": path})
        found = threading.Event()
        threading.Thread(target=self._read_output, args=(found,), daemon=True, name="simgrid-output").start()
        if not found.wait(self.start_timeout) or self.url is None:
            self.stop()
            raise RuntimeError("the simulator did not start:\n" + "".join(self._lines[-20:]))
        return self.url

    def _read_output(self, found: threading.Event) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.append(line)
            match = _LISTENING.search(line)
            if match and self.url is None:
                self.url = match.group(1)
                found.set()
        found.set()

    def client(self, **kwargs: Any) -> SimGridClient:
        if self.url is None:
            raise RuntimeError("the simulator is not running")
        return SimGridClient(self.url, **kwargs)

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    @property
    def output(self) -> str:
        return "".join(self._lines)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_healthy(client: SimGridClient, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if client.healthy():
            return True
        time.sleep(0.05)
    return False
