"""Letting running work end before a stop, for a bounded time, saying so while it waits.

Ganga's exit functions stop monitoring and then flush the repositories: work
still running then (a download, a finalisation) would write jobs during or after
that last flush.  :func:`drain` waits for it, at most ``timeout`` seconds,
and says what it waits for when it starts waiting and every ``every``
seconds after (a countdown at the prompt); Ctrl-C stops the wait.  What is
still running at the end is returned: a session's next start takes it up
(jobs left ``completing`` are recovered, crash-safe retrievals are not fetched
again).

Pure but for the callables it is given: the clock, the wait and the messages
are the caller's, so tests drive it with a fake clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from .work import Operation

SHOWN = 3
"""Operations named in a message; the rest are counted."""


def describe(running: Sequence[Operation]) -> str:
    """``"retrieve output of job 3.1, finalise job 3.2 and 4 more"``."""
    names = [op.description or str(op.key) for op in running[:SHOWN]]
    more = len(running) - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def drain(running: Callable[[], list[Operation]], wait: Callable[[float], None], now: Callable[[], float],
          say: Callable[[str], None], timeout: float, every: float = 5.0) -> list[Operation]:
    """Wait until ``running()`` is empty or ``timeout`` has passed; returns what still runs.

    ``wait(seconds)`` returns when an operation ends or the seconds have passed.
    Silent when nothing runs.  KeyboardInterrupt ends the wait (it is not re-raised:
    the caller's own shutdown goes on).
    """
    deadline = now() + max(0.0, timeout)
    last_said: float | None = None
    try:
        while True:
            left_running = running()
            left = deadline - now()
            if not left_running:
                if last_said is not None:
                    say("monitoring work ended; Ganga goes on stopping")
                return []
            if left <= 0:
                say(f"{len(left_running)} monitoring operation(s) still running ({describe(left_running)}): "
                    "left to the next Ganga session")
                return left_running
            if last_said is None or last_said - left >= every:
                say(f"waiting for {len(left_running)} monitoring operation(s) to end before Ganga stops "
                    f"({describe(left_running)}): {math.ceil(left)} s at most; Ctrl-C leaves them to the next session")
                last_said = left
            wait(min(left, 1.0))
    except KeyboardInterrupt:
        left_running = running()
        say(f"not waiting: {len(left_running)} monitoring operation(s) left to the next Ganga session")
        return left_running
