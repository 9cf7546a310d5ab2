#!/usr/bin/env bash
# A real single-node SLURM on loopback, and the smoke pipeline submitted to it through profiles/slurm.
#
#   tests/cluster/run_slurm.sh [--reference DIR] [--keep] [WORKDIR]
#
# Installs Debian's slurm-wlm and munge when missing (needs root and apt), starts munged, slurmctld and slurmd
# with two stand-in GPUs (character devices, as gres File= needs), runs configs/smoke.yaml with
# `snakemake --profile profiles/slurm` (landmark and tagging on device gpu, the rest on cpu), and then checks
# from the scheduler's own records (`scontrol show job`) that GPU jobs went to the gpu partition with one GPU,
# CPU training jobs to the cpu partition with their thread count, that two GPU jobs ran at the same time, and
# that the summaries equal a local run's (the one in --reference DIR, or a local run made here). Every daemon it
# started is stopped by PID on exit, whatever happened; every wait is bounded. Exit status 0 only when every
# check passed.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${LABELBENCH_BIN:-$ROOT/.venv/bin}"
REFERENCE=""
KEEP=0
WORK=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --reference) REFERENCE="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) WORK="$1"; shift ;;
    esac
done
WORK="${WORK:-$(mktemp -d /tmp/labelbench-slurm.XXXXXX)}"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
say() { printf '[slurm-test %(%H:%M:%S)T] %s\n' -1 "$*"; }
fail() { say "FAILED: $*"; exit 1; }

# --- packages ---------------------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    [[ $(id -u) -eq 0 ]] || fail "slurm-wlm and munge are not installed and this is not root: install them first"
    say "installing slurm-wlm and munge"
    timeout 600 apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq slurm-wlm munge >/dev/null
fi
[[ -x "$BIN/snakemake" ]] || fail "no snakemake at $BIN (run 'make setup', or set LABELBENCH_BIN)"

# --- daemons, stopped by PID whatever happens -------------------------------------------------------------
PIDS=()
cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 1
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    # jobs left in the scheduler die with slurmd; their processes are children of slurmstepd
    pkill -9 -f "slurmstepd.*$WORK" 2>/dev/null || true
    if [[ ${LINKED_CONF:-0} -eq 1 && "$(readlink /etc/slurm/slurm.conf)" == "$WORK/etc/slurm.conf" ]]; then
        rm -f /etc/slurm/slurm.conf
    fi
    if [[ $KEEP -eq 0 && $rc -eq 0 ]]; then rm -rf "$WORK/etc" "$WORK/state" "$WORK/dev"; fi
    say "daemons stopped (exit $rc; files in $WORK)"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds or time runs out
    local limit=$1 what=$2; shift 2
    for ((i = 0; i < limit; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
    fail "$what did not come up within ${limit}s"
}

mkdir -p "$WORK"/{etc,state,spool,log,munge,dev}
chmod 755 "$WORK/munge"
dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$WORK/munge/munge.key"
SOCKET="$WORK/munge/munge.socket"
munged --foreground --force --socket="$SOCKET" --key-file="$WORK/munge/munge.key" \
    --log-file="$WORK/log/munged.log" --pid-file="$WORK/munge/munged.pid" --seed-file="$WORK/munge/seed" >"$WORK/log/munged.out" 2>&1 &
PIDS+=($!)
wait_for 20 munged munge --socket="$SOCKET" -n

# two stand-in GPUs: gres File= must be character devices (plain files leave CUDA_VISIBLE_DEVICES empty)
for n in 0 1; do mknod "$WORK/dev/gpu$n" c 195 $((200 + n)); done
NODE=lbnode
HOST="$(hostname -s)"
CTLD_PORT=$(free_port)
SLURMD_PORT=$(free_port)
cat >"$WORK/etc/slurm.conf" <<EOF
ClusterName=labelbench
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCKET
CredType=cred/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/state/slurmctld.pid
SlurmdPidFile=$WORK/state/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
# no cgroups here: plain process tracking, no task containment
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# per-core and per-memory allocation; without DefMemPerCPU every job takes the whole node and GPU jobs serialise
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
SlurmdParameters=config_overrides
GresTypes=gpu
ReturnToService=2
MinJobAge=3600
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
NodeName=$NODE NodeHostname=$HOST NodeAddr=127.0.0.1 CPUs=8 RealMemory=16000 Gres=gpu:2 State=UNKNOWN
PartitionName=cpu Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$NODE MaxTime=INFINITE State=UP
EOF
cat >"$WORK/etc/gres.conf" <<EOF
NodeName=$NODE Name=gpu File=$WORK/dev/gpu0
NodeName=$NODE Name=gpu File=$WORK/dev/gpu1
EOF
export SLURM_CONF="$WORK/etc/slurm.conf"
# The plugin's job step drops every SLURM_* variable (SLURM_CONF too) before its inner `srun`, which then looks
# for the default /etc/slurm/slurm.conf: link ours there for the test's lifetime, never over a real one.
SYSTEM_CONF=/etc/slurm/slurm.conf
if [[ -e $SYSTEM_CONF && ! -L $SYSTEM_CONF ]]; then
    fail "$SYSTEM_CONF exists: this machine has a SLURM of its own; run the test on one without"
fi
mkdir -p /etc/slurm
ln -sfn "$SLURM_CONF" "$SYSTEM_CONF"
LINKED_CONF=1
slurmctld -D -i -f "$SLURM_CONF" >"$WORK/log/slurmctld.out" 2>&1 &
PIDS+=($!)
wait_for 30 slurmctld scontrol ping
slurmd -D -N "$NODE" -f "$SLURM_CONF" >"$WORK/log/slurmd.out" 2>&1 &
PIDS+=($!)
node_idle() { sinfo -h -n "$NODE" -o %t | grep -qE '^(idle|mix)'; }
wait_for 60 "slurmd (node $NODE idle)" node_idle
say "SLURM up: $(sinfo -h -o '%P %D %t %G' | tr '\n' ';')"

# --- the smoke pipeline through the cluster profile -------------------------------------------------------
RUN="$WORK/run"
mkdir -p "$RUN"
cp "$ROOT/config.yaml" "$RUN/config.yaml"
# The shipped profile with this cluster's names in place of its placeholders, so that its partitions.yaml is
# what routes the jobs.
PROFILE="$WORK/profile"
rm -rf "$PROFILE"
cp -r "$ROOT/profiles/slurm" "$PROFILE"
sed -i -e 's/<cpu-partition>/cpu/g' -e 's/<gpu-partition>/gpu/g' -e 's/<account>/labelbench/g' "$PROFILE"/*.yaml
# Both kinds of training job: the smoke config with landmark and tagging on device gpu. The stand-in GPUs are no
# GPUs for the frameworks, so those jobs would stop ("sees no GPU"); LABELBENCH_ALLOW_CPU_FALLBACK=1, set below
# for Snakemake and passed to the jobs by the plugin's sbatch --export=ALL, lets them compute on the CPU, with a
# warning and the same numbers as a local run.
CONFIG="$WORK/smoke_gpu.yaml"
"$BIN/python" - "$ROOT/configs/smoke.yaml" "$CONFIG" <<'PY'
import sys

import yaml

cfg = yaml.safe_load(open(sys.argv[1]))
for experiment in ("landmark", "tagging"):
    cfg["experiments"][experiment]["device"] = "gpu"
yaml.safe_dump(cfg, open(sys.argv[2], "w"), sort_keys=False)
PY
say "snakemake --profile profiles/slurm on configs/smoke.yaml (landmark and tagging on device gpu)"
# Sizes are overridden for this one-node cluster; without accounting storage the status checks must use squeue
# (sacct would hang Snakemake).
set +e
LABELBENCH_ALLOW_CPU_FALLBACK=1 timeout -k 30 1500 "$BIN/snakemake" --snakefile "$ROOT/Snakefile" --directory "$RUN" \
    --profile "$PROFILE" --configfile "$CONFIG" \
    --default-resources slurm_account=labelbench runtime=30 mem_mb=1000 \
    --set-resources train_keras:mem_mb=2000 train_torch:mem_mb=2000 step_timing:mem_mb=2000 \
    --slurm-status-command squeue --slurm-init-seconds-before-status-checks 5 \
    --slurm-keep-successful-logs --jobs 8 \
    >"$WORK/log/snakemake.out" 2>&1
status=$?
set -e
[[ $status -eq 0 ]] || { tail -n 60 "$WORK/log/snakemake.out"; fail "snakemake exited with $status"; }

# --- the scheduler's own records --------------------------------------------------------------------------
scontrol show job --oneliner >"$WORK/log/jobs.txt"
say "$(wc -l <"$WORK/log/jobs.txt") jobs in the scheduler's records"
"$BIN/python" "$ROOT/tests/cluster/check_slurm.py" --jobs "$WORK/log/jobs.txt" --run "$RUN" \
    ${REFERENCE:+--reference "$REFERENCE"} --snakefile "$ROOT/Snakefile" --config "$CONFIG" \
    --bin "$BIN" || fail "checks on the SLURM run"
say "all checks passed"
