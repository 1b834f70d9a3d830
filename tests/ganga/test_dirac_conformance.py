"""The conformance kit on the Dirac driver: GangaDirac's configuration (so a Ganga session), DIRAC a fake.

The driver's DIRAC calls go to a stand-in for its executor process that
answers GangaDirac's ``status`` and ``finished_job`` commands from the
scenario's table, as DIRAC would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest

from GangaMonitoring.testing import DONE, RUNNING, FakeJob, Scenario, check_driver

pytestmark = pytest.mark.ganga

ROWS = {
    "Running": ["Application", "Running", "LCG.Test.ch", "running", "In progress"],
    "Done": ["Execution Complete", "Done", "LCG.Test.ch", "completed", "In progress"],
    "Killed": ["Marked for termination", "Killed", "LCG.Test.ch", "failed", "In progress"],
}


@dataclass
class DiracBackend:
    id: int
    statusInfo: str = ""  # noqa: N815 - GangaDirac's names
    status: str = ""
    actualCE: str = ""  # noqa: N815
    extraInfo: str = ""  # noqa: N815
    normCPUTime: str = ""  # noqa: N815
    credential_requirements: Any = None
    downloadSandbox: bool = True  # noqa: N815
    unpackOutputSandbox: bool = True  # noqa: N815


class FakeDiracCalls:
    """GangaDirac's commands answered as DIRAC would, from the scenario's table of job states."""

    def __init__(self) -> None:
        self.states: dict[int, str] = {}

    def call(self, command: Any, args: dict[str, Any], credential: Any, timeout: float) -> Any:
        if command.__name__ == "status":
            unknown = ["", "Unknown: No status for Job", None, "failed", "In progress"]  # GangaDirac's own answer
            return [ROWS[self.states[i]] if i in self.states else unknown for i in args["job_ids"]]
        if command.__name__ == "finished_job":
            with open(os.path.join(args["outputDir"], "stdout"), "w", encoding="utf-8") as out:
                out.write(f"DIRAC job {args['id']}\n")
            return [12.5, {"OK": True, "Value": {}}, {}, {}, "Execution Complete"]
        raise AssertionError(f"the driver called {command.__name__}, which this test does not answer")


class DiracScenario(Scenario):
    def __init__(self, calls: FakeDiracCalls, monkeypatch: pytest.MonkeyPatch) -> None:
        import GangaMonitoring.drivers.dirac as module

        self.calls = calls
        monkeypatch.setattr(module, "group_jobs_by_backend_credential", lambda jobs: [jobs])

    def backend(self, state: str) -> DiracBackend:
        dirac_id = 5000 + len(self.calls.states)
        if state == RUNNING:
            self.calls.states[dirac_id] = "Running"
        elif state == DONE:
            self.calls.states[dirac_id] = "Done"
        else:
            dirac_id += 10**6  # one DIRAC never had
        return DiracBackend(dirac_id)

    def end(self, job: FakeJob) -> None:
        self.calls.states[job.backend.id] = "Killed"


def test_the_dirac_driver_keeps_the_contract(ganga_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from GangaMonitoring.drivers.dirac import DiracDriver

    calls = FakeDiracCalls()
    outcomes = check_driver(lambda: DiracDriver(calls), lambda: DiracScenario(calls, monkeypatch))  # type: ignore[arg-type]
    assert set(outcomes.values()) == {"passed"}
