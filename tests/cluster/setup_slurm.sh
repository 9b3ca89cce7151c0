#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for tests/cluster/test_slurm.py.
#
#   tests/cluster/setup_slurm.sh start    install (once), configure, start, smoke-test
#   tests/cluster/setup_slurm.sh status   print whether munged, slurmctld and slurmd are up
#   tests/cluster/setup_slurm.sh stop     stop the daemons (packages and config stay)
#
# Written for Debian 12 without systemd (containers, CI machines): apt never starts
# services there, so every daemon is started by hand in its own daemon mode. Needs root.
# Idempotent: `start` on a running cluster with an unchanged configuration takes < 1 s;
# a changed slurm.conf restarts slurmctld and slurmd (`scontrol reconfigure` is not
# enough for every setting).
#
# Settings (environment):
#   SLURM_PARTITIONS  space-separated partition names, all on the one node; the first is
#                     the default partition (default: "cpu gpu", as profiles/slurm uses)
#   SKIP_SMOKE=1      skip the sbatch smoke test
#
# Accounting is off (AccountingStorageType=accounting_storage/none), so `sacct` does not
# work here: run Snakemake with `--slurm-status-command squeue`. MinJobAge=3600 keeps
# finished jobs visible to `squeue --states=all` for an hour: that mode needs it, and the
# test reads partition, CPUs and memory of every finished job from there.
set -euo pipefail

PARTITIONS=${SLURM_PARTITIONS:-cpu gpu}
CONF=/etc/slurm/slurm.conf
MARK="# Written by tests/cluster/setup_slurm.sh: a one-node test cluster on localhost."
STATE=/var/spool/slurmctld
SPOOL=/var/spool/slurmd
LOGDIR=/var/log/slurm
RUNDIR=/run/slurm
WAIT=${SLURM_WAIT:-60}

die() {
    echo "setup_slurm.sh: error: $*" >&2
    exit 1
}
say() { echo "setup_slurm.sh: $*"; }

need_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts daemons)"
}

pid_alive() { # pidfile
    local pid
    pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null &&
        command -v munged >/dev/null; then
        return
    fi
    command -v apt-get >/dev/null || die "apt-get not found: this script needs Debian/Ubuntu"
    say "installing munge, slurmctld, slurmd, slurm-client with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    local log=/var/log/setup_slurm-apt.log
    apt-get update -q >"$log" 2>&1 || { tail -20 "$log" >&2; die "apt-get update failed (log: $log)"; }
    apt-get install -y -q --no-install-recommends munge slurmctld slurmd slurm-client >>"$log" 2>&1 ||
        { tail -20 "$log" >&2; die "apt-get install munge slurmctld slurmd slurm-client failed (log: $log)"; }
}

start_munge() {
    if [ ! -s /etc/munge/munge.key ]; then
        # the munge postinst normally creates the key; this is only a fallback
        mungekey --create --keyfile /etc/munge/munge.key || die "could not create /etc/munge/munge.key"
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
    fi
    # /run/munge is systemd's RuntimeDirectory normally: create it by hand
    install -d -o munge -g munge -m 0755 /run/munge
    if ! pid_alive /run/munge/munged.pid; then
        say "starting munged"
        runuser -u munge -- /usr/sbin/munged || die "munged did not start (see /var/log/munge/munged.log)"
    fi
    for _ in $(seq 50); do
        if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
            return
        fi
        sleep 0.1
    done
    die "munge does not work: 'munge -n | unmunge' fails (see /var/log/munge/munged.log)"
}

CONFIG_CHANGED=0
write_config() { # sets CONFIG_CHANGED=1 when slurm.conf was (re)written
    local host cpus mem_kb real_mem def_mem first=1 partitions=""
    host=$(hostname -s)
    cpus=$(nproc --all)
    mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
    real_mem=$((mem_kb * 9 / 10 / 1024))
    def_mem=$((real_mem / cpus))
    for name in $PARTITIONS; do
        if [ $first -eq 1 ]; then
            partitions+="PartitionName=$name Nodes=$host Default=YES MaxTime=INFINITE State=UP"$'\n'
            first=0
        else
            partitions+="PartitionName=$name Nodes=$host Default=NO MaxTime=INFINITE State=UP"$'\n'
        fi
    done
    [ -n "$partitions" ] || die "SLURM_PARTITIONS is empty"
    local new
    new=$(
        cat <<EOF
$MARK
ClusterName=localcluster
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=$RUNDIR/slurmctld.pid
SlurmdPidFile=$RUNDIR/slurmd.pid
SlurmdSpoolDir=$SPOOL
StateSaveLocation=$STATE
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$def_mem
MinJobAge=3600
InactiveLimit=0
KillWait=30
Waittime=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mem State=UNKNOWN
$partitions
EOF
    )
    mkdir -p /etc/slurm
    if [ -f "$CONF" ] && [ "$(cat "$CONF")" = "$new" ]; then
        return
    fi
    if [ -f "$CONF" ] && [ "$(head -n 1 "$CONF")" != "$MARK" ]; then
        die "$CONF exists and was not written by this script: an existing SLURM is left alone"
    fi
    printf '%s\n' "$new" >"$CONF"
    CONFIG_CHANGED=1
}

stop_daemon() { # name pidfile: TERM, wait up to 10 s, then KILL
    local name=$1 pidfile=$2 pid
    if pid_alive "$pidfile"; then
        pid=$(cat "$pidfile")
        say "stopping $name"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

stop_slurm() {
    stop_daemon slurmd "$RUNDIR/slurmd.pid"
    stop_daemon slurmctld "$RUNDIR/slurmctld.pid"
}

start_slurm() {
    mkdir -p "$STATE" "$SPOOL" "$LOGDIR" "$RUNDIR"
    if ! pid_alive "$RUNDIR/slurmctld.pid"; then
        say "starting slurmctld"
        /usr/sbin/slurmctld || die "slurmctld did not start (see $LOGDIR/slurmctld.log)"
    fi
    if ! pid_alive "$RUNDIR/slurmd.pid"; then
        say "starting slurmd"
        /usr/sbin/slurmd || die "slurmd did not start (see $LOGDIR/slurmd.log)"
    fi
}

wait_idle() {
    local state=""
    for _ in $(seq $((WAIT * 2))); do
        if scontrol ping 2>/dev/null | grep -q "is UP"; then
            state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1)
            case "$state" in
            idle | mixed | allocated | completing) return ;;
            down* | drain* | fail*) scontrol update NodeName="$(hostname -s)" State=RESUME 2>/dev/null || true ;;
            esac
        fi
        sleep 0.5
    done
    die "the node is not ready after ${WAIT}s (state: '${state:-no answer}'); see $LOGDIR/slurmctld.log and $LOGDIR/slurmd.log"
}

smoke_test() {
    local dir out id
    dir=$(mktemp -d)
    out="$dir/smoke.out"
    # shellcheck disable=SC2016 # $(hostname -s) expands in the job, not here
    id=$(sbatch --parsable --job-name setup-smoke --mem 10 --time 1 --output "$out" --wrap 'echo smoke-ok on $(hostname -s)') ||
        die "sbatch smoke test: submission failed"
    for _ in $(seq $((WAIT * 2))); do
        if grep -q smoke-ok "$out" 2>/dev/null; then
            rm -rf "$dir"
            say "smoke test passed (sbatch job $id)"
            return
        fi
        sleep 0.5
    done
    scontrol show job "$id" >&2 || true
    die "sbatch smoke test: job $id wrote nothing to $out within ${WAIT}s"
}

status() {
    local rc=0 name
    if pid_alive /run/munge/munged.pid; then echo "munged:    running"; else echo "munged:    stopped"; rc=1; fi
    for name in slurmctld slurmd; do
        if pid_alive "$RUNDIR/$name.pid"; then echo "$name: running"; else echo "$name: stopped"; rc=1; fi
    done
    if [ $rc -eq 0 ]; then
        sinfo 2>/dev/null || rc=1
    fi
    return $rc
}

case "${1:-start}" in
start)
    need_root
    install_packages
    start_munge
    write_config
    if [ $CONFIG_CHANGED -eq 1 ]; then
        say "wrote $CONF (partitions: $PARTITIONS)"
        stop_slurm
    fi
    start_slurm
    wait_idle
    [ "${SKIP_SMOKE:-0}" = 1 ] || smoke_test
    say "cluster up: $(sinfo -h -o '%P %D nodes, %c CPUs, %t' | paste -sd ';' | sed 's/;/; /g')"
    ;;
stop)
    need_root
    stop_slurm
    stop_daemon munged /run/munge/munged.pid
    ;;
status)
    status
    ;;
*)
    echo "usage: $0 [start|stop|status]" >&2
    exit 2
    ;;
esac
