"""A synchronous client of the simulated grid (used from pool threads and by tests).

Failures are sorted for the retry policies: connection errors, timeouts, 5xx
and malformed answers are :class:`TransientError` (worth retrying); other
4xx answers are :class:`PermanentError`.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Iterable

import requests

from .._core.retry import BackendUnavailable, PermanentError, TransientError


class SimGridError(Exception):
    """Base of the client's errors (always combined with Transient/Permanent)."""


class SimGridUnavailable(SimGridError, BackendUnavailable):
    """The service could not be reached, timed out or answered 5xx."""


class SimGridBadAnswer(SimGridError, TransientError):
    """The service answered something that is not what the API promises."""


class SimGridRejected(SimGridError, PermanentError):
    """The service refused the request (4xx): retrying the same request cannot help."""


class OutputNotReadyError(SimGridError, TransientError):
    """The job has no output yet (409)."""


class SimGridClient:
    """One client per thread is not needed: ``requests.Session`` is used per call group."""

    def __init__(self, url: str, timeout: float = 10.0, max_batch: int = 1000) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.max_batch = max_batch
        self._session = requests.Session()

    def submit(self, count: int) -> list[int]:
        return self._json("POST", "/jobs", {"count": count})["ids"]

    def status(self, job_ids: Iterable[int]) -> list[dict[str, Any]]:
        ids = list(job_ids)
        views: list[dict[str, Any]] = []
        for start in range(0, len(ids), self.max_batch):
            views.extend(self._json("POST", "/status", {"ids": ids[start:start + self.max_batch]})["jobs"])
        return views

    def changes(self, cursor: int) -> tuple[int, list[dict[str, Any]]]:
        answer = self._json("GET", f"/changes?cursor={int(cursor)}")
        return int(answer["cursor"]), answer["jobs"]

    def kill(self, job_ids: Iterable[int]) -> list[int]:
        ids = list(job_ids)
        killed: list[int] = []
        for start in range(0, len(ids), self.max_batch):
            killed.extend(self._json("POST", "/kill", {"ids": ids[start:start + self.max_batch]})["killed"])
        return killed

    def output(self, job_id: int) -> bytes:
        return self._request("GET", f"/jobs/{int(job_id)}/output").content

    def stats(self) -> dict[str, Any]:
        return self._json("GET", "/stats")

    def start_outage(self, seconds: float) -> None:
        """Make the service answer 503 from now on for ``seconds`` (a test control)."""
        self._json("POST", "/control/outage", {"seconds": seconds})

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
            raise SimGridUnavailable(f"{method} {path}: no answer within {self.timeout}s") from err
        except requests.ConnectionError as err:
            raise SimGridUnavailable(f"{method} {path}: cannot connect to {self.url}") from err
        if response.status_code >= 500:
            raise SimGridUnavailable(f"{method} {path}: HTTP {response.status_code} {response.text[:200]}")
        if response.status_code == 409:
            raise OutputNotReadyError(f"{method} {path}: {response.text[:200]}")
        if response.status_code >= 400:
            raise SimGridRejected(f"{method} {path}: HTTP {response.status_code} {response.text[:200]}")
        return response

    def close(self) -> None:
        self._session.close()
