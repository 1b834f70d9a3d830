"""DIRAC's admin API: imported by GangaDirac's command definitions, never called by monitoring."""

from __future__ import annotations


class DiracAdmin:
    """No administrative call is simulated."""
