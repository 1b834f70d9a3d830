"""A synchronous client of the simulated grid (used from pool threads and by tests).

Failures are sorted for the retry policies: connection errors, timeouts, 5xx
and malformed answers are :class:`TransientError` (worth retrying); other
4xx answers are :class:`PermanentError`.

Reads (status, changes, output) are also retried right here, twice with a
short backoff, when one request hits a glitch (a 500, 502 or 504, a timeout,
a garbled answer): a poll of 20,000 jobs takes 21 requests, and without
this a 5 % error rate would fail two polls in three and redo all 21.  A 503
or a refused connection says the service is down: no quick retry, the
scheduler's policy and breaker deal with that.
"""

from __future__ import annotations

import threading
from typing import Any
from collections.abc import Callable, Iterable

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from ..core.retry import BackendUnavailable, PermanentError, TransientError


class SimGridError(Exception):
    """Base of the client's errors (always combined with Transient/Permanent)."""


class SimGridUnavailable(SimGridError, BackendUnavailable):
    """The service could not be reached, timed out or answered 5xx."""


class SimGridGlitch(SimGridUnavailable):
    """One request failed in a way the next one may not (500, 502, 504, a timeout)."""


class SimGridBadAnswer(SimGridError, TransientError):
    """The service answered something that is not what the API promises."""


class SimGridRejected(SimGridError, PermanentError):
    """The service refused the request (4xx): retrying the same request cannot help."""


class OutputNotReadyError(SimGridError, TransientError):
    """The job has no output yet (409)."""


def _read_retrying(on_retry: Callable[[BaseException], None] | None = None) -> Retrying:
    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        if on_retry is not None and error is not None:
            on_retry(error)

    return Retrying(stop=stop_after_attempt(3), wait=wait_exponential_jitter(initial=0.1, max=1.0, jitter=0.1),
                    retry=retry_if_exception_type((SimGridGlitch, SimGridBadAnswer)), reraise=True,
                    before_sleep=before_sleep)


class SimGridClient:
    """A client that any number of threads may share (Ganga's main thread submits while pool threads
    poll and download through the same one): each thread gets its own ``requests.Session``, since
    requests does not promise that a session is safe to use from several threads at once.

    The sessions ignore the environment (``trust_env`` off: no proxy variables, ``.netrc`` or CA bundle):
    the simulator serves on the loopback only, where none of them applies, and requests would otherwise
    read the whole environment and look for a ``.netrc`` at every request (a fifth of a request's CPU,
    paid once per output at thousands of subjobs)."""

    def __init__(self, url: str, timeout: float = 10.0, max_batch: int = 1000,
                 on_retry: Callable[[BaseException], None] | None = None) -> None:
        """``on_retry(error)``: called before each retry of a read (a glitch or a malformed answer)."""
        self.url = url.rstrip("/")
        self.on_retry = on_retry
        self.timeout = timeout
        self.max_batch = max_batch
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    @property
    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def submit(self, count: int, names: list[str] | None = None) -> list[int]:
        """Submit ``count`` jobs (named ``names``, one each, if given: every view of a job reports its name)."""
        body: dict[str, Any] = {"count": count}
        if names is not None:
            body["names"] = list(names)
        return self._json("POST", "/jobs", body)["ids"]

    def status(self, job_ids: Iterable[int]) -> list[dict[str, Any]]:
        """The views of the jobs the grid knows (an unknown one is left out: see :meth:`status_report`)."""
        return self.status_report(job_ids)[0]

    def status_report(self, job_ids: Iterable[int]) -> tuple[list[dict[str, Any]], list[int]]:
        """(the views of the jobs the grid knows, the ids it does not know)."""
        ids = list(job_ids)
        views: list[dict[str, Any]] = []
        unknown: list[int] = []
        for start in range(0, len(ids), self.max_batch):
            batch = {"ids": ids[start:start + self.max_batch]}
            answer = _read_retrying(self.on_retry)(self._json, "POST", "/status", batch)
            views.extend(answer["jobs"])
            unknown.extend(answer.get("unknown", []))
        return views, unknown

    def changes(self, cursor: int) -> tuple[int, list[dict[str, Any]]]:
        answer = _read_retrying(self.on_retry)(self._json, "GET", f"/changes?cursor={int(cursor)}")
        return int(answer["cursor"]), answer["jobs"]

    def kill(self, job_ids: Iterable[int]) -> list[int]:
        return self.kill_report(job_ids)[0]

    def kill_report(self, job_ids: Iterable[int]) -> tuple[list[int], list[int]]:
        """(the ids killed, the ids the grid does not know)."""
        ids = list(job_ids)
        killed: list[int] = []
        unknown: list[int] = []
        for start in range(0, len(ids), self.max_batch):
            answer = self._json("POST", "/kill", {"ids": ids[start:start + self.max_batch]})
            killed.extend(answer["killed"])
            unknown.extend(answer.get("unknown", []))
        return killed, unknown

    def output(self, job_id: int) -> bytes:
        return _read_retrying(self.on_retry)(self._request, "GET", f"/jobs/{int(job_id)}/output").content

    def stats(self) -> dict[str, Any]:
        return self._json("GET", "/stats")

    def start_outage(self, seconds: float) -> None:
        """Make the service answer 503 from now on for ``seconds`` (a test control)."""
        self._json("POST", "/control/outage", {"seconds": seconds})

    def hold(self, held: bool) -> int:
        """Hold the grid's new jobs (True), or release them (False; returns how many were held)."""
        return int(self._json("POST", "/control/hold", {"held": held}).get("released", 0))

    def healthy(self) -> bool:
        try:
            return bool(self._json("GET", "/health").get("ok"))
        except SimGridError:
            return False

    def _json(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self._request(method, path, body)
        try:
            answer = response.json()
        except ValueError as err:
            raise SimGridBadAnswer(f"{method} {path}: malformed JSON answer ({len(response.content)} bytes)") from err
        if not isinstance(answer, dict):
            raise SimGridBadAnswer(f"{method} {path}: expected a JSON object, got {type(answer).__name__}")
        return answer

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        try:
            response = self._session.request(method, self.url + path, json=body, timeout=self.timeout)
        except requests.Timeout as err:
            raise SimGridGlitch(f"{method} {path}: no answer within {self.timeout}s") from err
        except requests.ConnectionError as err:
            raise SimGridUnavailable(f"{method} {path}: cannot connect to {self.url}") from err
        if response.status_code in (500, 502, 504):
            raise SimGridGlitch(f"{method} {path}: HTTP {response.status_code} {response.text[:200]}")
        if response.status_code >= 500:
            raise SimGridUnavailable(f"{method} {path}: HTTP {response.status_code} {response.text[:200]}")
        if response.status_code == 409:
            raise OutputNotReadyError(f"{method} {path}: {response.text[:200]}")
        if response.status_code >= 400:
            raise SimGridRejected(f"{method} {path}: HTTP {response.status_code} {response.text[:200]}")
        return response

    def close(self) -> None:
        """Close every thread's session (a thread that uses the client afterwards gets a new one)."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()
