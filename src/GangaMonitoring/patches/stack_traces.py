"""Item 12: Ganga's stack tracer writes plain escaped text, not pygments' colours.

What: ``GangaCore.Utility.stacktracer.highlight_trace`` is replaced by one
that writes the stack text HTML-escaped in ``<pre>``, uncoloured.

Why: Ganga's stack tracer (a thread every session starts) writes the stacks
of all threads to ``<gangadir>/thread_trace.html`` every 5 s, each coloured
by pygments' traceback lexer: ~2.5 ms of GIL per thread each time, so its
cost grows with the threads a session runs (stock ~10, ours ~25: ~60 ms
every 5 s, 2-3 % of the GIL in a 3,000-subjob burst).

Contract: the file shows the same stacks, the same text (~0.2 ms a thread).
:func:`plain_stack_traces` installs it when the component starts.

Undone by: remove() restores Ganga's ``highlight_trace`` (the ledger).
"""

from __future__ import annotations

import html

from .ledger import _lock, _wrap


def plain_stack_traces() -> None:
    """Install item 12 (idempotent; undone by remove)."""
    from GangaCore.Utility import stacktracer

    with _lock:
        _wrap(stacktracer, "highlight_trace", lambda _coloured: _plain_trace)


def _plain_trace(text: str) -> str:
    return "<pre>" + html.escape(text) + "</pre>"


_plain_trace.__gm_wrapped__ = True  # type: ignore[attr-defined]
