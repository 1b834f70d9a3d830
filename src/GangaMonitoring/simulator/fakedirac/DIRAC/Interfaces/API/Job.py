"""DIRAC's job description, as GangaDirac's generated submission script builds it.

The simulated grid decides itself how long a job queues and runs, so the
description is only recorded (``parameters``), apart from parametric input
data, whose length is the number of jobs a submission makes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Workflow:
    def __init__(self) -> None:
        self.parameters: dict[str, Any] = {}


class Job:
    def __init__(self, script: str | None = None, stdout: str = "std.out", stderr: str = "std.err") -> None:
        self.workflow = Workflow()
        self.parameters: dict[str, Any] = {}
        self.parametric: list[Any] = []

    def setParametricInputData(self, lfns: Any) -> dict[str, Any]:  # noqa: N802 - DIRAC's names
        self.parametric = list(lfns or [])
        return {"OK": True, "Value": None}

    def _addParameter(self, workflow: Workflow, name: str, kind: str, value: Any,  # noqa: N802
                      description: str = "") -> None:
        workflow.parameters[name] = value

    def __getattr__(self, name: str) -> Callable[..., dict[str, Any]]:
        """Any other ``setX(...)`` (executable, sandboxes, CPU time, sites...) is recorded as given."""
        if not name.startswith("set"):
            raise AttributeError(name)

        def record(*args: Any, **kwargs: Any) -> dict[str, Any]:
            self.parameters[name[3:]] = (args, kwargs)
            return {"OK": True, "Value": None}

        return record
