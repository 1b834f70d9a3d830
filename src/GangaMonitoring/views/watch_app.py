"""The live display of monitoring: :func:`watch` (frames on a stream) and :func:`watch_live` (full screen).

The contract: it calls the ``statistics`` it is given for each frame (the
component's ``statistics()``: frozen data, safe from any thread) and lays it
out with ``views/layout.py``; it owns the terminal while it runs and gives it
back on q, Esc or Ctrl-C.  Frames go to a stream in place on a terminal, else
separated by a blank line (logs, scripts); on a capable terminal with no
frame count it is a full-screen prompt_toolkit application in its own thread
and event loop, so it works at IPython's prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .layout import cut, render
from .snapshot import MonitoringSnapshot

def watch(statistics: Callable[[], MonitoringSnapshot], interval: float, count: int | None, stream: Any,
          sleep: Any = None, width: int | None = None, retry: Callable[[], list[str]] | None = None) -> int:
    """Show the snapshot every ``interval`` s until Ctrl-C (or ``count`` frames); returns frames shown.

    On a capable terminal with no ``count`` it is a full-screen prompt_toolkit
    display (:func:`watch_live`).  Otherwise frames are written to ``stream``:
    in place on a terminal (cursor home, clear below), else separated by a
    blank line, which suits logs and scripts.  Each line fits in ``width``
    columns; None: the terminal's width, read for each frame, when ``stream``
    is a terminal, else lines are whole.
    """
    import os
    import time

    in_place = bool(getattr(stream, "isatty", lambda: False)())
    if in_place and count is None and sleep is None and os.environ.get("TERM", "dumb") != "dumb":
        return watch_live(statistics, interval, width, retry)
    pause = sleep or time.sleep
    shown = 0
    try:
        while count is None or shown < count:
            frame = render(statistics(), width if width is not None else terminal_width(stream))
            stream.write(("\x1b[H\x1b[J" if in_place else ("\n" if shown else "")) + frame + "\n")
            stream.flush()
            shown += 1
            if count is None or shown < count:
                pause(interval)
    except KeyboardInterrupt:
        stream.write("\n")
    return shown


def terminal_width(stream: Any) -> int | None:
    """The columns of the terminal ``stream`` writes to; None if it is not a terminal."""
    import os

    try:
        return os.get_terminal_size(stream.fileno()).columns if stream.isatty() else None
    except (AttributeError, OSError, ValueError):
        return None


LIVE_FOOTER = "(q, Esc or Ctrl-C: back to the prompt; ?: help)"
LIVE_HELP = """Keys:
  q Q Esc Ctrl-C   back to the prompt
  ?                this help (again: hide it)
  r                retry the output of every job that failed for want of it
                   (queues.retry())

Backends: each line starts with its health (ok, FAILING, DOWN, HELD), then
its tracked jobs; below it, how far behind it is and its last 5 minutes.
Split jobs: subjobs by state, pace, time left.  Queued: waiting work by kind
and priority ("ready" is due and waits for a worker).  In a narrow terminal
the least telling parts of a line give way first, never the health word."""


def watch_live(statistics: Callable[[], MonitoringSnapshot], interval: float, width: int | None = None,
               retry: Callable[[], list[str]] | None = None) -> int:
    """Full-screen display refreshed every ``interval`` s until q, Esc or Ctrl-C; returns frames drawn.

    It runs in its own thread and event loop (``in_thread``), so it works at
    IPython's prompt, whose own application is idle while a command runs.
    Other threads may still write log lines to the terminal underneath it;
    each refresh clears and repaints the whole screen, so such a line lasts
    one interval at most instead of corrupting the display.  Lines fit in
    ``width`` columns, by default the terminal's, read at each repaint
    (:func:`render`: the least telling parts give way first, never a
    backend's health).
    """
    import asyncio
    import time

    from prompt_toolkit.application import Application
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.layout import Layout
    from prompt_toolkit.layout.containers import Window
    from prompt_toolkit.layout.controls import FormattedTextControl

    frames = 0
    showing_help = False
    message = ""

    def frame() -> str:
        nonlocal frames
        frames += 1
        terminal = app.output.get_size().columns
        columns = min(width, terminal) if width else terminal
        header = f"GangaMonitoring watch, {time.strftime('%H:%M:%S')} (every {interval:g} s)"
        body = LIVE_HELP if showing_help else render(statistics(), columns)
        text = "\n".join([header, *([message] if message else []), "", body, "", LIVE_FOOTER])
        return "\n".join(cut(line, columns) for line in text.split("\n"))

    keys = KeyBindings()

    @keys.add("q")
    @keys.add("Q")
    @keys.add("escape", eager=True)
    @keys.add("c-c")
    def _leave(event: Any) -> None:
        event.app.exit()

    @keys.add("?")
    def _help(event: Any) -> None:
        nonlocal showing_help
        showing_help = not showing_help
        event.app.invalidate()

    @keys.add("r")
    def _retry(event: Any) -> None:
        nonlocal message
        try:
            retried = retry() if retry is not None else []
            message = f"retrying the output of {len(retried)} job(s)" + (
                f": {', '.join(retried[:10])}" if retried else " (none failed for want of it)")
        except Exception as err:  # noqa: BLE001 - a key must never end the display: say what went wrong
            message = f"retry failed: {type(err).__name__}: {err}"
        event.app.invalidate()

    app: Application[None] = Application(layout=Layout(Window(FormattedTextControl(frame), wrap_lines=False)),
                                         key_bindings=keys, full_screen=True)

    async def repaint() -> None:
        while True:
            await asyncio.sleep(interval)
            app.renderer.clear()
            app.invalidate()

    def start_repainting() -> None:
        app.create_background_task(repaint())

    app.run(in_thread=True, pre_run=start_repainting)
    return frames
