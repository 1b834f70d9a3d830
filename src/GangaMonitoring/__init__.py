"""GangaMonitoring: a priority-scheduled, observable monitoring component for Ganga.

Ganga loads this package when it is named in ``[Configuration]RUNTIME_PATH``
and calls the hooks below on every start:

- ``standardSetup()``, before Ganga's bootstrap: defines the ``[Monitoring]``
  options and swaps our component class in (``patches``), so that
  ``GangaCore.Core.bootstrap`` builds ours as ``monitoring_component``;
- ``loadPlugins(config)``: registers the ``SimGrid`` backend;
- ``postBootstrapHook()``: checks that the swap took.

Ganga never calls a runtime package's ``shutdown()``; the component's own
``stop()`` (called by Ganga's exit sequence) and an ``atexit`` hook undo the
patches.  Importing this package outside Ganga (unit tests, the command
line) imports nothing of Ganga.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import sys

try:  # pyproject.toml's version, from the installed distribution: written in one place
    __version__ = importlib.metadata.version("ganga-monitoring")
except importlib.metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
    __version__ = "0+unknown"


def standardSetup() -> dict[str, object]:  # noqa: N802 - Ganga's hook name
    from . import config
    from . import patches
    from .integration.component import MonitoringComponent

    config.define_options()
    if named_in_runtime_path() and not config.monitoring_option("use_stock_monitoring"):
        patches.apply(MonitoringComponent)
    else:
        # Ganga keeps every runtime package it ever loaded in a process and
        # calls its hooks on each later start; a start whose RUNTIME_PATH no
        # longer names us gets stock monitoring.
        patches.remove()
        if named_in_runtime_path():
            patches.guard_current_frames()  # stock monitoring, but no CPython deadlock (patches, item 6)
    return {}


def named_in_runtime_path() -> bool:
    """Whether this start's ``[Configuration]RUNTIME_PATH`` names this package."""
    from GangaCore.Utility.Config import getConfig

    entries = str(getConfig("Configuration")["RUNTIME_PATH"]).split(":")
    return any(os.path.basename(os.path.normpath(e)) == __name__ for e in entries if e)


def loadPlugins(config: object = None) -> None:  # noqa: N802 - Ganga's hook name
    """Ganga's plugin hook: registers the SimGrid backend (and its runtime handler)."""
    from .backends import simgrid  # noqa: F401 - defining the class registers the plugin


def postBootstrapHook() -> None:  # noqa: N802 - Ganga's hook name
    from GangaCore import Core
    from GangaCore.Utility.logging import getLogger

    from .integration.component import MonitoringComponent

    from . import config

    config.check_at_start()
    if config.monitoring_option("use_stock_monitoring") or not named_in_runtime_path():
        return
    if not isinstance(Core.monitoring_component, MonitoringComponent):
        getLogger("GangaMonitoring").error(
            "GangaMonitoring is in RUNTIME_PATH but Ganga built %r as its monitoring component",
            type(Core.monitoring_component).__name__)
        return
    from .integration.scripts import enable_for_script

    enable_for_script(Core.monitoring_component)


def shutdown() -> None:
    """Undo our patches (Ganga does not call this; the component's stop() does)."""
    from . import patches

    patches.remove()


class _BareNameWarningFilter(logging.Filter):
    """Drops Ganga's "imported from X but specified path is Y" warning for this package.

    ``RUNTIME_PATH = GangaMonitoring`` (the documented way to enable us) is
    resolved by Ganga against its own install directory, so Ganga warns
    that the pip-installed package came from elsewhere, on every start.  The
    warning is emitted right after this module is imported, so the filter
    goes on Ganga's runtime logger here.  Only that message, and only for
    this package when named without a directory, is dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (str(record.msg).startswith("runtime '%s' imported from") and len(args) == 3
                    and args[0] == __name__ and os.path.basename(str(args[2])) == "ganga")


def quiet_bare_name_warning() -> None:
    """Install :class:`_BareNameWarningFilter` (needs Ganga importable: after ``import ganga``)."""
    import GangaCore.Utility.Runtime as runtime_module

    if not any(isinstance(f, _BareNameWarningFilter) for f in runtime_module.logger.filters):
        runtime_module.logger.addFilter(_BareNameWarningFilter())


if "GangaCore" in sys.modules:  # imported by Ganga's runtime loader: options before bootstrap
    from . import config as _config

    quiet_bare_name_warning()
    _config.define_options()
