"""DIRAC's command-line initialisation: nothing to initialise for the simulated grid."""

from __future__ import annotations

from typing import Any


def parseCommandLine(ignoreErrors: bool = False, **_: Any) -> None:  # noqa: N802,N803 - DIRAC's names
    """DIRAC reads its configuration here; the simulated client reads its server per call instead."""
