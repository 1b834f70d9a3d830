#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for GangaMonitoring's tests.
#
# Installs Debian's slurmctld, slurmd, slurm-client and munge when they are
# missing, writes a slurm.conf for a single node "localhost" (no systemd, no
# cgroups, no accounting: finished jobs stay visible to `squeue --states=all`
# for MinJobAge seconds), starts munged, slurmctld and slurmd unless they run
# already, and waits until the node takes jobs.  Prints "ready" on success.
# Idempotent; run as root (or it re-runs itself through sudo).
#
#   GM_SLURM_DIR   state, spool, logs and pid files   (default /var/tmp/gm-slurm)
#   GM_SLURM_CPUS  CPUs the node advertises            (default 8; oversubscribes the real ones)
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    exec sudo --preserve-env=GM_SLURM_DIR,GM_SLURM_CPUS "$0" "$@"
fi

export PATH="$PATH:/usr/sbin:/sbin"  # runuser, munged, the daemons: a login's PATH may lack them (env -i, cron)
dir=${GM_SLURM_DIR:-/var/tmp/gm-slurm}
cpus=${GM_SLURM_CPUS:-8}
conf=/etc/slurm/slurm.conf

log() { echo "start-slurm: $*" >&2; }

fail() {
    log "$*"
    for f in "$dir"/log/*.log; do
        [[ -f $f ]] && { echo "--- $f"; tail -n 20 "$f"; } >&2
    done
    exit 1
}

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
            && command -v munged >/dev/null; then
        return
    fi
    log "installing slurmctld slurmd slurm-client munge (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    local attempt
    for attempt in 1 2 3; do  # a mirror may hiccup: try again before failing the whole test run
        # postinst cannot start services without systemd; it says so and goes on
        if apt-get update -qq && apt-get install -y -qq --no-install-recommends \
                slurmctld slurmd slurm-client munge >/dev/null; then
            return
        fi
        log "apt-get failed (attempt $attempt of 3)"
        sleep $((attempt * 5))
    done
    fail "could not install Slurm's Debian packages"
}

memory_mb() {
    # 90 % of the node's memory: configuring more than slurmd finds would drain the node
    awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo
}

wanted_config() {
    cat <<EOF
# written by GangaMonitoring's ci/slurm/start-slurm.sh
ClusterName=gangamon
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SlurmdParameters=config_overrides
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
MinJobAge=600
MaxJobCount=100000
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$(memory_mb) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

running() {  # running NAME PIDFILE: is the daemon of that pid file alive and really NAME?
    local pid
    [[ -f $2 ]] || return 1
    pid=$(<"$2")
    [[ -r /proc/$pid/comm && $(</proc/$pid/comm) == "$1" ]] || return 1
    # a killed daemon nobody has reaped yet is a zombie that still has its name: not running
    ! grep -qs '^State:[[:space:]]*Z' "/proc/$pid/status"
}

start_munge() {
    if running munged "$dir/run/munged.pid"; then return; fi
    install -d -o munge -g munge -m 0755 /run/munge
    rm -f "$dir/run/munged.pid.tmp"  # a killed munged's: waiting for the file must wait for the new one
    runuser -u munge -- /usr/sbin/munged --pid-file="$dir/run/munged.pid.tmp" --force
    # munged writes its pid file as user munge; keep our own copy in our run dir
    for _ in $(seq 50); do [[ -s $dir/run/munged.pid.tmp ]] && break; sleep 0.1; done
    cp "$dir/run/munged.pid.tmp" "$dir/run/munged.pid"
    munge -n | unmunge >/dev/null || fail "munge does not work"
}

stop_slurm_daemons() {
    for name in slurmd slurmctld; do
        if running "$name" "$dir/run/$name.pid"; then kill "$(<"$dir/run/$name.pid")"; fi
    done
    for _ in $(seq 100); do
        running slurmd "$dir/run/slurmd.pid" || running slurmctld "$dir/run/slurmctld.pid" || return 0
        sleep 0.1
    done
}

start_daemons() {  # each one unless it runs already
    running slurmctld "$dir/run/slurmctld.pid" || /usr/sbin/slurmctld || fail "slurmctld did not start"
    running slurmd "$dir/run/slurmd.pid" || /usr/sbin/slurmd -N localhost || fail "slurmd did not start"
}

wait_until_ready() {
    local state=""
    for attempt in $(seq 600); do
        # a daemon that exited right after starting (seen once after its predecessor was killed
        # with SIGKILL) is started again; sinfo gets a bound, or it waits long for a dead controller
        (( attempt % 50 == 0 )) && start_daemons
        state=$(timeout 5 sinfo -h -n localhost -o %T 2>/dev/null || true)
        case $state in
            idle*|mixed*|allocated*|completing*) return 0 ;;
            down*|drain*) scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true ;;
        esac
        sleep 0.1
    done
    fail "the node is not ready after 60 s (state: ${state:-none})"
}

install_packages
install -d -m 0755 "$dir" "$dir/state" "$dir/spool" "$dir/log" "$dir/run" /etc/slurm
chmod 0777 "$dir/run"
if ! cmp -s <(wanted_config) "$conf" 2>/dev/null; then
    log "writing $conf"
    stop_slurm_daemons  # they must not run with a config that changed under them
    wanted_config >"$conf"
fi
start_munge
start_daemons
wait_until_ready
echo ready
