"""``ganga-monitoring``: enable/disable the package for a user, show a session's monitoring, print a site ini,
run the demo or the simulator."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from . import gangarc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ganga-monitoring",
                                     description="GangaMonitoring: priority-scheduled monitoring for Ganga")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("enable", "add GangaMonitoring to RUNTIME_PATH in your .gangarc"),
                       ("disable", "remove GangaMonitoring from RUNTIME_PATH in your .gangarc")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--gangarc", default=os.path.join(os.path.expanduser("~"), ".gangarc"),
                             help="the file to edit (default ~/.gangarc)")
    status = commands.add_parser("status", help="print the monitoring snapshot of the running Ganga session "
                                                "(what 'queues' shows at its prompt)")
    status.add_argument("--json", action="store_true", help="print the whole status file as JSON")
    status.add_argument("--gangadir", help="the session's gangadir (default: [Configuration]gangadir of "
                                           "--gangarc, else ~/gangadir)")
    status.add_argument("--gangarc", default=os.path.join(os.path.expanduser("~"), ".gangarc"),
                        help="where to read the gangadir from (default ~/.gangarc)")
    commands.add_parser("site-ini", help="print an ini enabling it for all users (for GANGA_CONFIG_PATH)")
    commands.add_parser("demo", help="run the demo (see 'ganga-monitoring demo --help')", add_help=False)
    commands.add_parser("simgrid", help="run the grid simulator service (see 'ganga-monitoring simgrid --help')",
                        add_help=False)
    args, rest = parser.parse_known_args(argv)

    if args.command == "demo":
        from .demo import run

        return run(rest)
    if args.command == "simgrid":
        from .simulator.server import main as serve

        return serve(rest)
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    if args.command == "status":
        return _status(args)
    if args.command == "site-ini":
        sys.stdout.write(gangarc.site_ini())
        return 0
    enable = args.command == "enable"
    try:
        changed = gangarc.update_file(args.gangarc, enable=enable)
    except gangarc.GangarcError as err:
        print(f"ganga-monitoring {args.command}: {err}", file=sys.stderr)
        return 2
    state = "enabled" if enable else "disabled"
    if not changed:
        print(f"GangaMonitoring was already {state} in {args.gangarc}; nothing changed")
        return 0
    backup = f" (the previous file is {args.gangarc}{gangarc.BACKUP_SUFFIX})" \
        if os.path.exists(args.gangarc + gangarc.BACKUP_SUFFIX) else ""
    after = "Ganga sessions started from now on use it" if enable else \
        "Ganga sessions started from now on use Ganga's own monitoring"
    print(f"GangaMonitoring {state} in {args.gangarc}{backup}. {after}.")
    return 0


def _status(args: argparse.Namespace) -> int:
    import json
    import time

    from . import status_file

    gangadir = os.path.expanduser(args.gangadir) if args.gangadir else status_file.default_gangadir(args.gangarc)
    try:
        status = status_file.read(gangadir)
    except status_file.StatusFileError as err:
        print(f"ganga-monitoring status: {err}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(dataclasses.asdict(status), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print(status_file.describe(status, time.time(), status_file.pid_alive))
    print(status.text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
