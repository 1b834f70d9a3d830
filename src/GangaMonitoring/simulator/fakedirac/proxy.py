"""``dirac-proxy-init`` and ``dirac-proxy-info`` of the simulated DIRAC: a proxy is a small JSON file.

Ganga's DiracProxy credential runs these two commands (``[DIRAC]proxyInitCmd``,
``proxyInfoCmd``) and reads ``key : value`` lines from the second, so the
credential machinery (validity, group, expiry, renewal) runs unchanged.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time

DEFAULT_HOURS = 24


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dirac-proxy")
    parser.add_argument("command", choices=["init", "info"])
    parser.add_argument("--out", "--file", dest="path", default=os.environ.get("X509_USER_PROXY", ""))
    parser.add_argument("--group", default="simgrid_user")
    parser.add_argument("--valid", default=None, help="HH:MM")
    parser.add_argument("--strict", action="store_true")
    parser.add_argument("--VOMS", action="store_true")
    parser.add_argument("-m", dest="uploaded", action="store_true")
    return parser.parse_args(argv)


def write_proxy(path: str, group: str, seconds: float = DEFAULT_HOURS * 3600) -> None:
    """A proxy of ``group`` valid for ``seconds`` (tests make expired ones with a negative value)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    record = {"group": group, "username": getpass.getuser(), "expires": time.time() + seconds}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    os.chmod(path, 0o600)


UPLOADED_DAYS = 365
"""How long the proxy "uploaded to DIRAC" stays valid: Ganga refuses to submit with under 21 days left."""


def _info(path: str, uploaded: bool = False) -> int:
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError) as err:
        print(f"Error: cannot read the proxy {path!r}: {err}", file=sys.stderr)
        return 1
    left = max(0, int(record["expires"] - time.time()))
    hours, rest = divmod(left, 3600)
    print(f"subject      : /DC=sim/CN={record['username']}/CN=proxy")
    print(f"issuer       : /DC=sim/CN={record['username']}")
    print(f"identity     : /DC=sim/CN={record['username']}")
    print(f"timeleft     : {hours:02d}:{rest // 60:02d}:{rest % 60:02d}")
    print(f"DIRAC group  : {record['group']}")
    print(f"path         : {path}")
    print(f"username     : {record['username']}")
    if uploaded:
        until = time.strftime("%Y/%m/%d %H:%M", time.gmtime(time.time() + UPLOADED_DAYS * 86400))
        print("== Proxies uploaded ==")
        print(" DN                   | Group        | Until (GMT)")
        print(f" /DC=sim/CN={record['username']} | {record['group']} | {until}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if not args.path:
        print("Error: no proxy file given (--out/--file) and X509_USER_PROXY is not set", file=sys.stderr)
        return 2
    if args.command == "info":
        return _info(args.path, args.uploaded)
    seconds = DEFAULT_HOURS * 3600.0
    if args.valid:
        hours, minutes = args.valid.split(":")
        seconds = int(hours) * 3600.0 + int(minutes) * 60.0
    write_proxy(args.path, args.group, seconds)
    print(f"Proxy generated: {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
