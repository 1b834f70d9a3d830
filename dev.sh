#!/usr/bin/env bash
# One entry point for the project's set-up, demo and tests (see README.md).
#   ./dev.sh demo [demo options]   install into .venv and run the demo (no external service)
#   ./dev.sh test [pytest options] install into .venv with test extras, start a local Slurm
#                                  (ci/slurm/start-slurm.sh) and run the test suite
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV=${VENV:-.venv}

install() {  # $1: pip extras ("" or "[test]")
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
    fi
    "$VENV/bin/python" -m pip install --quiet -e ".$1"
}

command=${1:-}
shift || true
case "$command" in
    demo)
        install ""
        exec "$VENV/bin/ganga-monitoring" demo "$@"
        ;;
    test)
        install "[test]"
        "$VENV/bin/ruff" check src tests tools benchmarks
        "$VENV/bin/mypy" src
        # A real one-node Slurm for tests/ganga/test_slurm.py (Debian packages; needs root or sudo).
        # GM_SKIP_SLURM=1 skips it, and those tests then skip instead of failing.
        if [ "${GM_SKIP_SLURM:-0}" != 1 ]; then
            bash ci/slurm/start-slurm.sh
            export GM_REQUIRE_SLURM=1
        fi
        # Tests run in their own session so that job processes Ganga's Local
        # backend leaves behind are reaped with the whole group at the end.
        set +e
        setsid "$VENV/bin/python" -m pytest -n auto --cov=GangaMonitoring --cov-report=term "$@" &
        runner=$!
        wait "$runner"
        status=$?
        kill -- -"$runner" 2>/dev/null || true
        exit "$status"
        ;;
    *)
        echo "usage: ./dev.sh demo [options] | ./dev.sh test [pytest options]" >&2
        exit 2
        ;;
esac
