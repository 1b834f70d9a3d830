"""The credential check: a backend's polls and downloads wait while its jobs lack a valid credential.

Ganga's old monitor checked credentials on a timer; 8.7's monitoring lost
that, and Dirac's update now skips jobs whose proxy has expired with a
debug line only: the user sees jobs stuck in ``submitted`` and no word why.
Every ``[PollThread]creds_poll_rate`` seconds this check reads the
credential requirement of each active backend's top-level jobs (once per
job: it is kept while the job is tracked) and asks Ganga's
``credential_store`` whether a valid credential meets it.  When none of a
backend's requirements is met, that backend's polls and downloads are held
(one warning naming the credential and how to renew it; ``queues.why(j)``
says it too) until one is valid again.  Work a user asks for still goes,
and finalisation of what was already retrieved goes on.  Backends whose
jobs need no credential (Local, Batch, SimGrid) are never looked at again
after the first read of each job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.logging import getLogger

from ..core.breaker import credential_breaker

log = getLogger("GangaMonitoring.credentials")

NO_REQUIREMENT = None


def credential_is_valid(requirement: Any) -> bool:
    """Whether Ganga's credential store holds a valid credential meeting ``requirement`` (never creates one)."""
    from GangaCore.GPIDev.Credentials import credential_store

    credential = credential_store.get(requirement)
    return credential is not None and bool(credential.is_valid())


def requirement_of(job: Any) -> Any | None:
    """The credential requirement of ``job``'s backend, or None if it needs none."""
    return getattr(stripProxy(job).backend, "credential_requirements", NO_REQUIREMENT)


class CredentialCheck:
    """Holds and releases each backend's credential breaker from what the store says."""

    def __init__(self, hold: Callable[[str, str], None], release: Callable[[str, str], None],
                 is_valid: Callable[[Any], bool] = credential_is_valid) -> None:
        self._hold = hold
        self._release = release
        self._is_valid = is_valid
        self._requirements: dict[int, Any | None] = {}
        """Top-level job id -> its backend's credential requirement (read once while the job is tracked)."""
        self.held: dict[str, str] = {}
        """Backend -> why its work is held now."""

    def run(self, active: Mapping[str, Iterable[int]], load: Callable[[int], Any | None]) -> None:
        """Check the backends of ``active`` (backend -> top-level job ids); ``load`` gives a job by id."""
        tracked: set[int] = set()
        for backend, job_ids in active.items():
            ids = list(job_ids)
            tracked.update(ids)
            self._check_backend(backend, self._requirements_of(ids, load))
        for backend in [name for name in self.held if name not in active]:
            self._set_released(backend, "it has no active job left")
        for job_id in [job_id for job_id in self._requirements if job_id not in tracked]:
            del self._requirements[job_id]

    def _requirements_of(self, job_ids: list[int], load: Callable[[int], Any | None]) -> set[Any]:
        found = set()
        for job_id in job_ids:
            if job_id not in self._requirements:
                try:
                    job = load(job_id)
                    if job is None:
                        continue
                    self._requirements[job_id] = requirement_of(job)
                except Exception as err:  # noqa: BLE001 - one unreadable job must not stop the check
                    log.debug("credential check: job %s could not be read (%s); skipped", job_id, err)
                    continue
            requirement = self._requirements[job_id]
            if requirement is not NO_REQUIREMENT:
                found.add(requirement)
        return found

    def _check_backend(self, backend: str, requirements: set[Any]) -> None:
        invalid = sorted(str(r) for r in requirements if not self._valid(r))
        if not requirements or len(invalid) < len(requirements):
            if backend in self.held:
                self._set_released(backend, "a valid credential is there again")
            return
        reason = (f"no valid credential for the {backend} jobs ({', '.join(invalid)}; renew it, e.g. "
                  f"credential_store.renew()): their polls and downloads wait")
        self.held[backend] = reason
        self._hold(credential_breaker(backend), reason)

    def _valid(self, requirement: Any) -> bool:
        try:
            return self._is_valid(requirement)
        except Exception as err:  # noqa: BLE001 - a broken check must not stop monitoring: count it invalid
            log.warning("checking credential %s failed (%s: %s); taken as not valid", requirement,
                        type(err).__name__, err)
            return False

    def release_all(self, why: str) -> None:
        """Lift every hold (monitoring is disabled: no check will run to lift them later)."""
        for backend in list(self.held):
            self._set_released(backend, why)

    def _set_released(self, backend: str, why: str) -> None:
        del self.held[backend]
        self._release(credential_breaker(backend), f"{backend}: {why}")

    def __repr__(self) -> str:
        return f"<CredentialCheck: {len(self._requirements)} job(s) known, held: {self.held or 'none'}>"
