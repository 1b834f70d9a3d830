"""A stand-in for the DIRAC client, backed by the local grid simulator (not DIRAC: see ``fakedirac``).

Only the part of DIRAC's Python API that GangaDirac calls is here, with
DIRAC's conventions: every call answers ``{"OK": True, "Value": ...}`` or
``{"OK": False, "Message": ...}`` and does not raise.  Modules import each
other relatively, so the tree works both where it lives in GangaMonitoring
and copied as a top-level ``DIRAC`` package into a DIRACOS-like directory.
"""

from __future__ import annotations

from typing import Any


def S_OK(value: Any = None) -> dict[str, Any]:  # noqa: N802 - DIRAC's names
    return {"OK": True, "Value": value}


def S_ERROR(message: str) -> dict[str, Any]:  # noqa: N802 - DIRAC's names
    return {"OK": False, "Message": message}
