"""The credential check: a backend whose jobs lack a valid credential waits, says why, and resumes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from . import plugins
from .conftest import wait_for

pytestmark = pytest.mark.ganga

CREDENTIAL_OPTIONS = [("PollThread", "default_backend_poll_rate", 1), ("PollThread", "creds_poll_rate", 1)]


@pytest.fixture
def ticket(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("GM_TICKET_FILE", str(tmp_path / "ticket"))
    plugins.write_ticket(3600)
    yield plugins


def component() -> Any:
    from GangaCore.Core import monitoring_component

    return monitoring_component


@pytest.mark.parametrize("ganga_session", [CREDENTIAL_OPTIONS], indirect=True)
def test_jobs_without_a_valid_credential_wait_and_say_why_then_resume(ganga_session: Any, ticket: Any) -> None:
    gpi = ganga_session
    mc = component()
    mc.disable()  # nothing is polled before the check below has looked
    needs_ticket = gpi.Job(backend=ticket.TicketSubmitter(time=0))
    needs_ticket.submit()
    plain = gpi.Job(backend=gpi.TestSubmitter(time=0))
    plain.submit()
    ticket.write_ticket(-60)  # the ticket expires
    mc._check_credentials()
    assert mc.credential_check.held.keys() == {"TicketSubmitter"}
    mc.enable()
    assert wait_for(lambda: plain.status == "completed", timeout=60), plain.status  # others go on
    assert needs_ticket.status == "submitted"
    why = str(gpi.queues.why(needs_ticket))
    assert "no valid credential for the TicketSubmitter jobs (GridTicket()" in why, why
    assert "HELD: no valid credential" in str(gpi.queues)
    assert mc.prompt_notice.notice() is not None and "no valid credential" in mc.prompt_notice.notice()
    ticket.write_ticket(3600)  # renewed: the periodic check ([PollThread]creds_poll_rate) lets it go
    assert wait_for(lambda: needs_ticket.status == "completed", timeout=60), (needs_ticket.status,
                                                                                str(gpi.queues.why(needs_ticket)))
    assert mc.credential_check.held == {}
    assert mc.runner.breaker_holds() == {}


@pytest.mark.parametrize("ganga_session", [CREDENTIAL_OPTIONS], indirect=True)
def test_a_backend_that_needs_no_credential_is_never_held(ganga_session: Any) -> None:
    gpi = ganga_session
    mc = component()
    job = gpi.Job(backend=gpi.TestSubmitter(time=30))
    job.submit()
    assert wait_for(lambda: job.status == "running", timeout=60), job.status
    mc._check_credentials()
    assert mc.credential_check.held == {} and mc.runner.breaker_holds() == {}
    job.kill()


class Recorder:
    """The runner's hold/release, recorded."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def hold(self, name: str, reason: str) -> None:
        self.events.append(("hold", name))

    def release(self, name: str, reason: str) -> None:
        self.events.append(("release", name))


def grid_job(requirement: str | None) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(backend=SimpleNamespace(credential_requirements=requirement))


def test_check_holds_only_when_no_requirement_of_a_backend_is_met_and_releases_when_its_jobs_are_gone() -> None:
    from GangaMonitoring.integration.credentials import CredentialCheck

    valid = {"proxy-a": False, "proxy-b": True}
    jobs = {1: grid_job("proxy-a"), 2: grid_job("proxy-b"), 3: grid_job(None)}
    recorder = Recorder()
    check = CredentialCheck(recorder.hold, recorder.release, is_valid=valid.__getitem__)
    check.run({"Grid": [1, 2], "Local": [3]}, jobs.get)
    assert recorder.events == [] and check.held == {}  # proxy-b still serves job 2
    check.run({"Grid": [1]}, jobs.get)
    assert recorder.events == [("hold", "Grid (credential)")] and "proxy-a" in check.held["Grid"]
    check.run({}, jobs.get)  # its jobs finished meanwhile
    assert recorder.events[-1] == ("release", "Grid (credential)") and check.held == {}


def test_check_survives_unreadable_jobs_and_broken_credentials_and_release_all_lifts_every_hold() -> None:
    from GangaMonitoring.integration.credentials import CredentialCheck

    def load(job_id: int) -> Any:
        if job_id == 1:
            raise OSError("job 1: its file is gone")
        return grid_job("proxy")

    def broken(_requirement: Any) -> bool:
        raise RuntimeError("proxy-info crashed")

    recorder = Recorder()
    check = CredentialCheck(recorder.hold, recorder.release, is_valid=broken)
    check.run({"Grid": [1, 2]}, load)
    assert check.held.keys() == {"Grid"}  # a check that cannot tell takes the credential as not valid
    check.release_all("monitoring disabled")
    assert recorder.events == [("hold", "Grid (credential)"), ("release", "Grid (credential)")]
    assert check.held == {}
