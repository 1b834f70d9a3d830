"""Item 4: a user's action that wants a job's output now is told to our listeners first.

What: ``Job.peek`` and every backend's ``getOutput*`` methods (Dirac's
``getOutputSandbox``, ...) are wrapped so that they first call the listeners
added by :func:`add_user_action_listener` with (job, method name); the
component's listener moves that job's waiting monitoring work to the front.

Why: stock monitoring treats every job alike, so a job the user is waiting
for at the prompt waits behind all the others.  Backends are only all known
once every runtime package has loaded, so :func:`hook_user_actions` runs
when the component starts, not in ``apply()``.

Contract: the user's call itself is unchanged and runs after the listeners;
a listener that raises is logged and never breaks the user's action; a
backend not attached to a job tells no one.

Undone by: remove() restores the methods (the ledger) and forgets every
listener (:func:`clear_user_action_listeners`).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any
from collections.abc import Callable, Iterator

from .ledger import _lock, _wrap, log

UserActionListener = Callable[[Any, str], None]  # (job, "peek" / "getOutputSandbox" / ...)

_user_action_listeners: list[UserActionListener] = []


def _announcing(original: Any, name: str) -> Any:
    """``original`` wrapped so that listeners hear of the call before it runs."""
    @functools.wraps(original)
    def announce_then_run(self: Any, *args: Any, **kwargs: Any) -> Any:
        job = self if name == "peek" else _job_of_backend(self)
        if job is not None:
            _announce(job, name)
        return original(self, *args, **kwargs)

    announce_then_run.__gm_wrapped__ = True  # type: ignore[attr-defined]
    return announce_then_run


def _announce(job: Any, name: str) -> None:
    """Tell the listeners of the user's action ``name`` on ``job``, before it runs."""
    for listener in list(_user_action_listeners):
        try:
            listener(job, name)
        except Exception:  # a listener bug must never break the user's action
            log.exception("user-action listener %r failed", listener)


@contextlib.contextmanager
def _peek_announced(job: Any, *_args: Any, **_kwargs: Any) -> Iterator[None]:
    """Around ``job.peek(...)``: the listeners told first (where Ganga's ``Job._around_user_action`` calls it)."""
    _announce(job, "peek")
    yield


def _job_of_backend(backend: Any) -> Any | None:
    try:
        return backend.getJobObject()
    except Exception:  # noqa: BLE001 - a backend not attached to a job
        return None


def _user_action_methods() -> list[tuple[type, str]]:
    from GangaCore.GPIDev.Lib.Job.Job import Job
    from GangaCore.Utility.Plugin import allPlugins

    methods: list[tuple[type, str]] = [(Job, "peek")]
    for backend_class in allPlugins.allClasses("backends").values():
        for name, member in vars(backend_class).items():
            if name.startswith("getOutput") and callable(member):
                methods.append((backend_class, name))
    return methods


def hook_user_actions() -> None:
    """Wrap ``Job.peek`` and backends' ``getOutput*`` methods (idempotent; undone by remove)."""
    with _lock:
        for cls, name in _user_action_methods():
            _wrap(cls, name, functools.partial(_announcing, name=name))


def add_user_action_listener(listener: UserActionListener) -> None:
    with _lock:
        if listener not in _user_action_listeners:
            _user_action_listeners.append(listener)


def remove_user_action_listener(listener: UserActionListener) -> None:
    with _lock:
        if listener in _user_action_listeners:
            _user_action_listeners.remove(listener)


def clear_user_action_listeners() -> None:
    """Forget every user-action listener (remove())."""
    with _lock:
        _user_action_listeners.clear()
