"""Item 19: the job wrapper the Batch backends submit ends with its program, not up to a heartbeat later.

What: ``GangaCore.GPIDev.Lib.File.FileUtils.loadScript`` is wrapped so that,
for Ganga's Batch job wrapper template (``Lib/Batch/BatchScriptTemplate.py.template``,
read by ``Batch.preparejob`` for LSF, PBS, SGE and Slurm) and for it alone, the
text it returns has the wrapper's watch of its child rewritten by
:func:`waiting_wrapper`.  Every other script it loads is returned as read.

Why: Ganga's wrapper watches the user's program by polling it, then sleeping
``[<Backend>]heartbeat_frequency`` seconds (30 by default): the batch job ends
0-30 s after its program (p50 18 s on a real Slurm), holding its slot, and its
``__jobstatus__`` END line (which stock monitoring waits for) comes that late.

Contract: the rewritten wrapper waits on the child with the heartbeat as the
timeout (``Popen.wait(timeout=...)``, which polls the child every 50 ms at most),
so it ends within a second of its program; while the child runs, it appends to
``__heartbeat__`` every ``heartbeat_frequency`` seconds as Ganga's does (the
first before the first wait, none if the child already ended); everything else
of the script (stdout, stderr, ``__syslog__``, the exit code, the
``__jobstatus__`` lines, the output sandbox) is Ganga's, untouched.  The
template must hold Ganga's loop in the shape :data:`_STOCK_LOOP` matches, once;
otherwise nothing is installed and a warning says so (Ganga's wrapper is used),
and a template that changes shape later is passed through with the same warning.

Installed at load by ``apply()`` (only where the package's component is used).
Undone by: remove() restores Ganga's ``loadScript`` (the ledger).
"""

from __future__ import annotations

import os
import re
from typing import Any

from .ledger import _lock, _wrap, log

TEMPLATE_NAME = "BatchScriptTemplate.py.template"
"""The file name of Ganga's Batch job wrapper template, in ``GangaCore/Lib/Batch``."""

_STOCK_LOOP = re.compile(
    r"^(?P<indent>[ \t]+)while 1:[ \t]*\n"
    r"[ \t]+result = child\.poll\(\)[ \t]*\n"
    r"[ \t]+if result is not None:[ \t]*\n"
    r"[ \t]+break[ \t]*\n"
    r"[ \t]+heartbeatfile\.write\('\.'\)[ \t]*\n"
    r"[ \t]+flush_file\(heartbeatfile\)[ \t]*\n"
    r"[ \t]+time\.sleep\((?P<heartbeat>###HEARTBEATFREQUENCE###)\)[ \t]*\n",
    re.MULTILINE)
"""Ganga's watch of the child: poll it, break when it ended, else touch the heartbeat and sleep a heartbeat."""

_WAITING_LOOP = (
    "{i}result = child.poll()\n"
    "{i}while result is None:  # GangaMonitoring: wait on the child, a heartbeat at most, instead of sleeping\n"
    "{i}    heartbeatfile.write('.')\n"
    "{i}    flush_file(heartbeatfile)\n"
    "{i}    try:\n"
    "{i}        result = child.wait(timeout={heartbeat})\n"
    "{i}    except subprocess.TimeoutExpired:\n"
    "{i}        pass\n"
)
"""What replaces it: the same heartbeat writes, but the wait ends when the child does."""

MARK = "GangaMonitoring: wait on the child"
"""A phrase only the rewritten wrapper holds (tests and users find the rewritten scripts by it)."""


class UnexpectedTemplate(ValueError):
    """The wrapper template does not hold Ganga's watch of the child exactly once."""


def waiting_wrapper(template: str) -> str:
    """The wrapper template ``template`` with its child watched by waiting, not by polling and sleeping.

    Raises :class:`UnexpectedTemplate` unless ``template`` holds Ganga's loop
    (:data:`_STOCK_LOOP`) exactly once, after the ``child = subprocess.Popen(``
    that starts the program and with ``subprocess`` imported.
    """
    found = list(_STOCK_LOOP.finditer(template))
    if len(found) != 1:
        raise UnexpectedTemplate(f"Ganga's watch of the child (poll, then time.sleep(###HEARTBEATFREQUENCE###)) "
                                 f"is there {len(found)} times, not once")
    loop = found[0]
    if "child = subprocess.Popen(" not in template[:loop.start()]:
        raise UnexpectedTemplate("the child is not started by subprocess.Popen before the watch")
    if not re.search(r"^import subprocess\b", template, re.MULTILINE):
        raise UnexpectedTemplate("subprocess is not imported")
    waiting = _WAITING_LOOP.format(i=loop["indent"], heartbeat=loop["heartbeat"])
    return template[:loop.start()] + waiting + template[loop.end():]


def template_path() -> str:
    """Where Ganga's Batch job wrapper template is (beside ``GangaCore/Lib/Batch/Batch.py``)."""
    import GangaCore

    return os.path.join(os.path.dirname(os.path.abspath(GangaCore.__file__)), "Lib", "Batch", TEMPLATE_NAME)


def _warn(why: str) -> None:
    log.warning("Ganga's batch job wrapper template %s does not have the shape GangaMonitoring expects (%s): "
                "LSF, PBS, SGE and Slurm jobs are submitted with Ganga's own wrapper, which ends up to "
                "[<Backend>]heartbeat_frequency seconds after its program", template_path(), why)


def wrapper_ends_with_program() -> bool:
    """Install item 19 (idempotent; undone by remove); False, with a warning, if the template is not as expected."""
    from GangaCore.GPIDev.Lib.File import FileUtils

    path = template_path()
    try:
        with open(path) as template:
            waiting_wrapper(template.read())
    except (OSError, UnexpectedTemplate) as err:
        _warn(str(err))
        return False
    with _lock:
        _wrap(FileUtils, "loadScript", lambda stock: _loading_waiting_wrapper(stock, os.path.realpath(path)))
    return True


def _loading_waiting_wrapper(stock: Any, template: str) -> Any:
    def load_script(script_path: str, indentation: str) -> Any:
        text = stock(script_path, indentation)
        if os.path.basename(script_path) != TEMPLATE_NAME or os.path.realpath(script_path) != template:
            return text
        try:
            return waiting_wrapper(text)
        except UnexpectedTemplate as err:
            _warn(str(err))
            return text

    load_script.__gm_wrapped__ = True  # type: ignore[attr-defined]
    load_script.__wrapped__ = stock  # type: ignore[attr-defined]
    return load_script
