#!/usr/bin/env bash
# Stop the one-node Slurm that start-slurm.sh started: cancel every job, then stop
# slurmd, slurmctld and munged (each by its pid file, checked against /proc first).
#   GM_SLURM_DIR    as for start-slurm.sh      GM_SLURM_PURGE=1   also delete that directory
set -uo pipefail

if [[ $(id -u) -ne 0 ]]; then
    exec sudo --preserve-env=GM_SLURM_DIR,GM_SLURM_PURGE "$0" "$@"
fi
dir=${GM_SLURM_DIR:-/var/tmp/gm-slurm}

stop() {  # stop NAME: TERM, then KILL after 10 s, the daemon of $dir/run/NAME.pid
    local pidfile=$dir/run/$1.pid pid
    [[ -f $pidfile ]] || return 0
    pid=$(<"$pidfile")
    if [[ -r /proc/$pid/comm && $(</proc/$pid/comm) == "$1" ]]; then
        kill "$pid"
        for _ in $(seq 100); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
        [[ -d /proc/$pid ]] && kill -9 "$pid"
    fi
    rm -f "$pidfile"
}

command -v scancel >/dev/null && scancel --full --user=root >/dev/null 2>&1
stop slurmd
stop slurmctld
stop munged
[[ ${GM_SLURM_PURGE:-0} == 1 ]] && rm -rf "$dir"
echo stopped
