"""A one-line notice at the Ganga prompt when monitoring falls behind or a backend keeps failing.

IPython runs ``post_execute`` callbacks after each command and before the
next prompt, which is where Ganga itself prints its credential warnings: a
line printed there never interleaves with what the user types.  A notice is
printed when the situation *changes* — a problem starts or ends — and once
when it is over, never at every prompt: counts and ages in the line (polls
failed, seconds waited) are not a change.  The callback is registered once IPython's shell exists (Ganga
starts it after its bootstrap), from the component's dispatcher.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from typing import Any

from .. import config

def tell_user(text: str) -> None:
    """A line for the person at the terminal, now: printed, and logged at INFO for the log file.

    Ganga's logging shows this package's lines below ERROR at its interactive prompt in the log
    file only (they wait in a buffer that its prompt no longer flushes), so a line a user must
    see (a setting that applies later, a wait at exit) is printed.
    """
    from GangaCore.Utility.logging import getLogger

    print(f"GangaMonitoring: {text}", flush=True)
    getLogger("GangaMonitoring").info("%s", text)


FAILING_AFTER = 3
"""Consecutive failed polls after which a backend is reported failing."""


class PromptNotice:
    """The ``post_execute`` callback; holds the last notice shown, to show only changes."""

    def __init__(self, component: Any) -> None:
        self._component = component
        self._shown: Situation | None = None
        self._shell: Any = None

    def attach_if_possible(self) -> None:
        """Register with IPython's shell once it exists (cheap to call often)."""
        if self._shell is not None or "IPython" not in sys.modules:
            return
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None and hasattr(shell, "events"):
            shell.events.register("post_execute", self)
            self._shell = shell

    def detach(self) -> None:
        shell, self._shell = self._shell, None
        if shell is not None:
            with contextlib.suppress(ValueError):  # already gone
                shell.events.unregister("post_execute", self)

    def __call__(self, *_: Any) -> None:
        situation = self.situation()
        shown = self._shown
        if situation.key != (shown.key if shown else ()):
            if situation.text:
                print(situation.text)
            elif shown is not None and shown.text:
                print("GangaMonitoring: monitoring is back to normal")
            self._shown = situation

    def notice(self) -> str | None:
        """The current notice, or None when all is well."""
        return self.situation().text

    def situation(self) -> Situation:
        """What is wrong now: the problems (counts and ages left out of the key) and the line to print."""
        problems: list[tuple[tuple[str, str], str]] = []
        snapshot = self._component.statistics(jobs=False, work=False)
        holds = {b.name: b.last_error or "" for b in snapshot.breakers if b.held}
        down = {b.name for b in snapshot.breakers if b.state != "closed"}
        problems.extend(((name, "down"), f"{name} down (its work waits; probing it)")
                        for name in sorted(down) if name not in holds)
        problems.extend(((name, "held"), reason) for name, reason in sorted(holds.items()))
        for backend in snapshot.backends:
            if backend.backend in down:
                continue
            if backend.consecutive_failures >= FAILING_AFTER:
                problems.append(((backend.backend, "failing"), f"{backend.backend} failing "
                                 f"({backend.consecutive_failures} polls: {backend.last_error})"))
        behind = snapshot.oldest_ready_age
        if behind >= float(config.monitoring_option("notice_behind_after")):
            problems.append((("", "behind"), f"work has waited {behind:.0f} s"))
        if not problems:
            return Situation((), None)
        text = "GangaMonitoring: " + "; ".join(line for _, line in problems) + " (type `queues` for details)"
        return Situation(tuple(key for key, _ in problems), text)


@dataclass(frozen=True)
class Situation:
    """The problems at one moment: ``key`` names them (a notice is printed when it changes), ``text`` says them."""

    key: tuple[tuple[str, str], ...]
    text: str | None
