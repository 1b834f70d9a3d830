"""Ganga started and stopped inside this process, as a program that embeds Ganga does it.

The ``ganga`` command builds a ``GangaProgram`` from its command line and runs its
phases; a program that wants Ganga's GPI without a prompt runs the same phases with a
command line of its own: ``--config FILE`` (so no ``~/.gangarc`` is read, and Ganga's
new-version wizard leaves the file alone) and one ``-o[Section]option=value`` per
setting, which Ganga applies as it applies a user's, sections defined later by runtime
packages included.  Nothing of Ganga's test harness (``GangaCore.testlib``, pytest) is
needed.

Contract: ``start`` returns with Ganga bootstrapped, not interactive (so monitoring is
not enabled: Ganga's rule for a batch session); ``stop`` runs Ganga's own exit functions
once (monitoring stopped, repositories flushed, session locks removed) and takes them off
``atexit``, so they do not run a second time when the process ends.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterable, Sequence
from typing import Any

Option = tuple[str, str, Any]
"""(section, option, value): a value that is not a string is given as its Python literal."""


def command_line(gangadir: str, config_file: str, options: Iterable[Option]) -> list[str]:
    """The ``ganga`` command line that starts a session on ``gangadir`` with ``options``."""
    settings = [("Configuration", "gangadir", gangadir), *options]
    return ["ganga", "--config", config_file,
            *(f"-o[{section}]{option}={value if isinstance(value, str) else repr(value)}"
              for section, option, value in settings)]


def write_config_file(path: str) -> None:
    """An empty Ganga config file at ``path``: only the header line Ganga checks a user file for."""
    import ganga  # noqa: F401 - puts GangaCore on sys.path

    from GangaCore import _gangaVersion

    with open(path, "w") as handle:
        handle.write(f"# Ganga configuration file ($Name: {_gangaVersion} $)\n")


def start(gangadir: str, config_file: str, options: Sequence[Option] = ()) -> None:
    """Bootstrap Ganga in this process on ``gangadir``, reading only ``config_file`` (it must
    exist: :func:`write_config_file` makes an empty one), site files named by
    ``GANGA_CONFIG_PATH`` if set, and ``options``.  Ganga's banner is one line."""
    import ganga  # noqa: F401 - puts GangaCore on sys.path

    import GangaCore.Runtime
    from GangaCore import _gangaVersion
    from GangaCore.Runtime.bootstrap import GangaProgram

    program = GangaProgram(hello_string=f"Ganga {_gangaVersion}",
                           argv=command_line(gangadir, config_file, options))
    GangaCore.Runtime._prog = program
    program.parseOptions()
    program.configure()
    program.initEnvironment()
    program.bootstrap(interactive=False)


def stop() -> None:
    """Stop the Ganga that ``start`` started: Ganga's exit functions, once."""
    from GangaCore.Core.InternalServices import ShutdownManager

    atexit.unregister(ShutdownManager._protected_ganga_exitfuncs)
    ShutdownManager._protected_ganga_exitfuncs()
