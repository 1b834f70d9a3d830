"""DIRAC's RPC client, for the one service GangaDirac asks directly (job attributes)."""

from __future__ import annotations

from typing import Any

from ... import S_ERROR, S_OK
from ..._grid import grid

APPLICATION_STATUS = {"Waiting": "Unknown", "Running": "Running", "Done": "Job Finished Successfully",
                      "Failed": "Job Failed", "Killed": "Killed"}


class RPCClient:
    def __init__(self, service: str, **_: Any) -> None:
        self.service = service

    def getJobAttributes(self, job_id: int) -> dict[str, Any]:  # noqa: N802 - DIRAC's names
        if self.service != "WorkloadManagement/JobMonitoring":
            return S_ERROR(f"the simulated DIRAC has no service {self.service}")
        try:
            _site, client, local = grid().for_job(int(job_id))
            [view] = client.status([local])
        except Exception as err:  # noqa: BLE001 - DIRAC answers errors, it does not raise them
            return S_ERROR(f"{type(err).__name__}: {err}")
        return S_OK({"JobID": int(job_id), "Status": view["state"],
                     "ApplicationStatus": APPLICATION_STATUS.get(view["state"], "Unknown")})
