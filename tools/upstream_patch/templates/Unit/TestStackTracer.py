"""The stack tracer's sys._current_frames() runs with the garbage collector off (before CPython 3.12)."""

import gc
import sys
import threading

from GangaCore.Utility import stacktracer


def test_current_frames_are_the_threads_frames():
    frames = stacktracer._current_frames()
    assert threading.get_ident() in frames
    callers = []
    frame = frames[threading.get_ident()]  # this thread's: inside _current_frames, called from here
    while frame is not None:
        callers.append(frame.f_code)
        frame = frame.f_back
    assert sys._getframe().f_code in callers


def test_the_collector_is_off_inside_the_call_and_back_as_it_was(monkeypatch):
    seen = []

    def recording():
        seen.append(gc.isenabled())
        return {}

    monkeypatch.setattr(sys, "_current_frames", recording)
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            stacktracer._current_frames()
            assert gc.isenabled() is enabled
        finally:
            gc.enable()
    assert seen == ([True, True] if sys.version_info >= (3, 12) else [False, False])


def test_the_trace_names_this_thread():
    assert threading.current_thread().name in stacktracer.stacktraces()
