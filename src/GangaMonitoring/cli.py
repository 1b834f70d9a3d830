"""``ganga-monitoring``: enable/disable the package for a user, show a session's monitoring and its jobs, print
a site ini, run the demo or the simulator.

Each subcommand parses its own arguments, so an error in them prints that command's usage
(``usage: ganga-monitoring status ...``); ``demo`` and ``simgrid`` are handed everything after their name.
A ``--gangarc`` named on the command line must exist, except for ``enable``, which creates it and says so;
the default, ``~/.gangarc``, may be missing, as it may for Ganga.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable
from typing import Any

from . import gangarc

DEFAULT_GANGARC = os.path.join("~", ".gangarc")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, commands = _parsers()
    if argv and argv[0] in _DELEGATED:
        return _delegate(argv[0], argv[1:])
    if argv and argv[0] in commands.choices:
        args = commands.choices[argv[0]].parse_args(argv[1:], argparse.Namespace(command=argv[0]))
    else:  # --help, --version, no or an unknown command, an option before it: the top level's usage and error
        args = parser.parse_args(argv)
        if args.command in _DELEGATED:  # nothing followed it, or its parser would have been the top level's
            return _delegate(args.command, [])
    if args.command == "status":
        return _status(args)
    if args.command == "jobs":
        return _jobs(args)
    if args.command == "site-ini":
        sys.stdout.write(gangarc.site_ini())
        return 0
    return _enable_or_disable(args)


def _parsers() -> tuple[argparse.ArgumentParser, Any]:
    """The top-level parser, and its subparsers action (``.choices``: each command's own parser)."""
    parser = argparse.ArgumentParser(prog="ganga-monitoring",
                                     description="GangaMonitoring: priority-scheduled monitoring for Ganga")
    parser.add_argument("--version", action=_Version, help="print this package's version and Ganga's, and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    enable = commands.add_parser("enable", help="add GangaMonitoring to RUNTIME_PATH in your .gangarc",
                                 description="Add GangaMonitoring to [Configuration]RUNTIME_PATH of a Ganga "
                                             "configuration file; every other line stays as it is.")
    enable.add_argument("--gangarc", help="the file to edit (default ~/.gangarc); a file that does not exist "
                                          "is created (the command says so)")
    disable = commands.add_parser("disable", help="remove GangaMonitoring from RUNTIME_PATH in your .gangarc",
                                  description="Take GangaMonitoring out of [Configuration]RUNTIME_PATH of a "
                                              "Ganga configuration file; every other line stays as it is.")
    disable.add_argument("--gangarc", help="the file to edit (default ~/.gangarc); a file named here must exist")
    status = commands.add_parser("status", help="print the monitoring snapshot of the running Ganga session "
                                                "(what 'queues' shows at its prompt)")
    status.add_argument("--json", action="store_true", help="print the whole status file as JSON")
    jobs = commands.add_parser("jobs", help="a row per job of the running Ganga session, with what monitoring "
                                            "waits for (what queues.jobs() shows at its prompt)",
                               description="The jobs of the session's last status file: top-level jobs, and the "
                                           "subjobs of masters that are not final. Filters combine.")
    jobs.add_argument("--status", action="append", help="only jobs in this state; repeat it, or separate "
                                                        "states with commas, for several")
    jobs.add_argument("--backend", help="only jobs of this backend")
    jobs.add_argument("--master", type=int, help="the subjobs of this master job (by id)")
    jobs.add_argument("--name", help="only jobs whose name contains this, or matches it as a glob (sim*)")
    jobs.add_argument("--json", action="store_true", help="print the rows as a JSON list of objects")
    for command in (status, jobs):
        command.add_argument("--gangadir", help="the session's gangadir (default: [Configuration]gangadir of "
                                                "--gangarc, else ~/gangadir)")
        command.add_argument("--gangarc", help="where to read the gangadir from (default ~/.gangarc, if there "
                                               "is one); a file named here must exist")
    commands.add_parser("site-ini", help="print an ini enabling it for all users (for GANGA_CONFIG_PATH)")
    for name, text in _DELEGATED_HELP.items():
        commands.add_parser(name, help=text, add_help=False)
    return parser, commands


class _Version(argparse.Action):
    """``--version``: this package's version, and Ganga's when installed (read from its metadata: Ganga is
    not imported)."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        import importlib.metadata

        from . import __version__

        try:
            ganga = f"Ganga {importlib.metadata.version('ganga')}"
        except importlib.metadata.PackageNotFoundError:
            ganga = "Ganga not installed"
        sys.stdout.write(f"{parser.prog} {__version__} ({ganga})\n")
        parser.exit()


_DELEGATED_HELP = {"demo": "run the demo (see 'ganga-monitoring demo --help')",
                   "simgrid": "run the grid simulator service (see 'ganga-monitoring simgrid --help')"}
_DELEGATED = frozenset(_DELEGATED_HELP)


def _delegate(command: str, argv: list[str]) -> int:
    """Run ``demo`` or ``simgrid`` with its arguments (their parsers are named ``ganga-monitoring <command>``)."""
    run: Callable[[list[str]], int]
    if command == "demo":
        from .demo import run
    else:
        from .simulator.server import main as run
    return run(argv)


def _gangarc(args: argparse.Namespace) -> tuple[str, bool]:
    """The file ``--gangarc`` names (else the default), and whether it was named."""
    return os.path.expanduser(args.gangarc or DEFAULT_GANGARC), args.gangarc is not None


def _missing(args: argparse.Namespace, path: str) -> int:
    print(f"ganga-monitoring {args.command}: --gangarc {path} does not exist", file=sys.stderr)
    return 2


def _enable_or_disable(args: argparse.Namespace) -> int:
    path, named = _gangarc(args)
    enable = args.command == "enable"
    existed = os.path.exists(path)
    if not existed and not enable:
        if named:
            return _missing(args, path)
        print(f"{path} does not exist: GangaMonitoring is not enabled in it; nothing changed")
        return 0
    try:
        changed = gangarc.update_file(path, enable=enable)
    except gangarc.GangarcError as err:
        print(f"ganga-monitoring {args.command}: {err}", file=sys.stderr)
        return 2
    state = "enabled" if enable else "disabled"
    if not changed:
        print(f"GangaMonitoring was already {state} in {path}; nothing changed")
        return 0
    if not existed:
        previous = " (a new file: there was none)"
    elif os.path.exists(path + gangarc.BACKUP_SUFFIX):
        previous = f" (the previous file is {path}{gangarc.BACKUP_SUFFIX})"
    else:
        previous = ""
    after = "Ganga sessions started from now on use it" if enable else \
        "Ganga sessions started from now on use Ganga's own monitoring"
    if path != os.path.expanduser(DEFAULT_GANGARC):
        after += f" if they read this file (ganga --config {path}, or GANGA_CONFIG_FILE={path})"
    print(f"GangaMonitoring {state} in {path}{previous}. {after}.")
    return 0


def _read_status(args: argparse.Namespace) -> Any:
    """The session's status file (``status_file.SessionStatus``), or the exit code after saying why not."""
    from .views import status_file

    path, named = _gangarc(args)
    if named and not os.path.exists(path):
        return _missing(args, path)
    try:
        gangadir = os.path.expanduser(args.gangadir) if args.gangadir else status_file.default_gangadir(path)
    except status_file.StatusFileError as err:
        print(f"ganga-monitoring {args.command}: {err}", file=sys.stderr)
        return 2
    try:
        return status_file.read(gangadir)
    except status_file.StatusFileError as err:
        print(f"ganga-monitoring {args.command}: {err}", file=sys.stderr)
        return 1


def _status(args: argparse.Namespace) -> int:
    import json
    import time

    from .views import status_file

    status = _read_status(args)
    if isinstance(status, int):
        return status
    if args.json:
        json.dump(dataclasses.asdict(status), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print(status_file.describe(status, time.time(), status_file.pid_alive))
    print(status.text)
    return 0


def _jobs(args: argparse.Namespace) -> int:
    import json
    import time

    from .views import job_table, status_file
    from .views.watch_app import terminal_width

    status = _read_status(args)
    if isinstance(status, int):
        return status
    if status.jobs is None:
        print("ganga-monitoring jobs: the session's status file has no job rows (it was written by an older "
              "GangaMonitoring); 'ganga-monitoring status' shows what it has", file=sys.stderr)
        return 1
    try:
        rows = job_table.rows_from_dicts(status.jobs)
    except ValueError as err:
        print(f"ganga-monitoring jobs: the status file is damaged: {err}", file=sys.stderr)
        return 1
    wanted = job_table.JobFilter.of([s for given in args.status or [] for s in given.split(",")] or None,
                                    args.backend, args.master, args.name)
    shown = wanted.apply(rows if args.master is not None else [row for row in rows if row.master is None])
    if args.json:
        json.dump([row.as_dict() for row in shown], sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print(status_file.describe(status, time.time(), status_file.pid_alive))
    print(job_table.render(shown, terminal_width(sys.stdout)))
    if status.jobs_cut:
        print(f"(the status file holds the first {job_table.STATUS_FILE_ROWS} rows only; "
              "queues.jobs() at the session's prompt shows them all)")
    if args.master is not None and not shown:
        master = next((row for row in rows if row.fqid == str(args.master)), None)
        if master is None:
            print(f"there is no job {args.master} in this snapshot")
        elif master.subjobs and master.status in ("completed", "failed", "killed"):
            print(f"job {args.master} is {master.status}: the status file holds the subjobs of unfinished masters "
                  f"only (queues.jobs(master={args.master}) at the prompt lists them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
