#!/usr/bin/env bash
# Run upstream Ganga's own Unit and GPI test suites against the installed Ganga, with or
# without a runtime package active.  The upstream tests are copied at run time from a git
# checkout (they are not part of this repository, nor of Ganga's PyPI package).
#
#   tools/upstream_suite/run.sh --checkout PATH [--runtime GangaMonitoring] [--name NAME] [--ref REV]
#                               [--python PY | --venv DIR] [pytest args...]
#
# PATH is a git repository of ganga-devs/ganga (a bare one works); the tests are REV's (default HEAD).
# --python runs them with that interpreter (default: $PYTHON, else this repository's .venv).
# --venv DIR runs them with DIR's, and first makes DIR if it is not there: a fresh python3.11 venv
# into which PATH's own tree (a work tree, e.g. a patched one) is pip-installed, with its dependencies
# and pytest, pytest-mock and pexpect.  Output goes to
# results/upstream/NAME.{log,xml}.  A temp HOME and gangadir are used; the run is its own
# process session, reaped at the end (Local-backend jobs outlive Ganga).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
checkout="" runtime="" name="" ref=HEAD venv=""
while [ $# -gt 0 ]; do
    case "$1" in
        --checkout) checkout=$2; shift 2 ;;
        --runtime) runtime=$2; shift 2 ;;
        --name) name=$2; shift 2 ;;
        --ref) ref=$2; shift 2 ;;
        --python) python=$2; shift 2 ;;
        --venv) venv=$2; shift 2 ;;
        *) break ;;
    esac
done
[ -n "$checkout" ] || { echo "usage: $0 --checkout PATH [--runtime PKG] [--name NAME] [--ref REV] [--python PY | --venv DIR] [pytest args]" >&2; exit 2; }
name=${name:-${runtime:-stock}}
if [ -n "$venv" ]; then
    if [ ! -x "$venv/bin/python" ]; then
        [ -f "$checkout/setup.py" ] || { echo "--venv installs the checkout's tree: $checkout has no setup.py" >&2; exit 2; }
        venv_start=$(date +%s)
        python3.11 -m venv "$venv" && "$venv/bin/pip" install "$checkout" pytest pytest-mock pexpect \
            > "$venv/pip-install.log" 2>&1 || { echo "could not make $venv (see $venv/pip-install.log)" >&2; exit 2; }
        echo "made $venv from $checkout in $(( $(date +%s) - venv_start ))s"
    fi
    python=$venv/bin/python
fi
# upstream's credential tests use pytest-mock's "mocker" fixture (upstream's dev extras have it)
"$python" -c "import pytest_mock" 2>/dev/null || "$python" -m pip install --quiet pytest-mock
work=$(mktemp -d /tmp/upstream-suite-XXXX)
out="$repo/results/upstream"
mkdir -p "$out" "$work/upstream_tests"
gitdir=$checkout; [ -d "$checkout/.git" ] && gitdir="$checkout/.git"
# the test folder's own tree: a snapshot may lack blobs elsewhere (its largest files), which an archive
# of the whole revision, even filtered by path, must read
git --git-dir="$gitdir" archive "$ref:ganga/GangaCore/test" Unit GPI | tar -x -C "$work/upstream_tests"
find "$work/upstream_tests" -type d -exec sh -c '[ -f "$1/__init__.py" ] || touch "$1/__init__.py"' _ {} \;
cp "$here/conftest.py" "$work/conftest.py"
home=$(mktemp -d /tmp/upstream-home-XXXX)
env_args=(HOME="$home")
if [ -n "$runtime" ]; then
    printf '# Ganga configuration file ($Name: 8.7.12 $)\n[Configuration]\nRUNTIME_PATH = %s\n' "$runtime" > "$work/runtime.ini"
    env_args+=(GANGA_CONFIG_FILE="$work/runtime.ini")
fi
cd "$work"
start=$(date +%s)
# TestStartUp imports a module Ganga 8.7 no longer has and deletes ~/.gangarc; the udocker
# test downloads from the internet.
env "${env_args[@]}" setsid "$python" -m pytest -p no:cacheprovider -p no:xdist -o python_files='Test*.py test_*.py' \
    --ignore=upstream_tests/GPI/TestStartUp.py \
    --deselect upstream_tests/Unit/Utility/TestUtilitiesVirtualizationInstallUDocker.py \
    --junitxml="$out/$name.xml" -q -rfE "$@" upstream_tests > "$out/$name.log" 2>&1 &
session=$!
wait "$session"
status=$?
kill -- -"$session" 2>/dev/null
# Local-backend jobs start sessions of their own (setsid), out of reach of the kill above: every
# process still running with this run's temp HOME is one of ours (seen: two upstream test jobs
# looping at full CPU for hours after the suite ended).
reap_home() {
    local pid
    for pid in $(grep -lzx "HOME=$home" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3); do
        [ "$pid" != "$$" ] && kill -9 "$pid" 2>/dev/null
    done
}
reap_home
wall=$(( $(date +%s) - start ))
summary=$(grep -a -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed)' "$out/$name.log" | tail -n 1)
echo "upstream suite [$name]: ${summary:-no summary} (wall ${wall}s, exit $status); log $out/$name.log"
rm -rf "$work" "$home"
exit "$status"
