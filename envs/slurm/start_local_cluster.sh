#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine (Debian 12, run as root, no systemd needed):
# munged, slurmctld and slurmd, one partition "debug" holding this host. Used by the SLURM test
# (tests/test_slurm.py, run by .ci/run) to submit the workflow with `snakemake --profile profiles/slurm`.
#
# Idempotent: installs the Debian packages if missing, keeps a running cluster whose slurm.conf is
# unchanged, (re)starts what is missing, and waits until the node is idle. Exits non-zero with a
# clear message if the cluster does not come up.
#
# Settings (environment):
#   SLURM_START_TIMEOUT  seconds to wait for the node to be idle (default 60)
#   SLURM_MEM_HEADROOM   MiB of memory kept out of SLURM's RealMemory (default: 10%, at least 1024)
#   SLURM_DUMMY_GPU=1    declare one dummy GPU (gres gpu:1 on /dev/null) so `--gpus=1` jobs schedule
#
# No accounting (slurmdbd) runs here: `sacct` fails, so the profile must query job states with
# squeue (profiles/slurm/config.yaml: slurm-status-command: squeue); MinJobAge is kept high so that
# finished jobs stay visible to squeue (the plugin needs MinJobAge >= 3 x its initial check delay).
set -euo pipefail

log() { echo "[slurm-local] $*" >&2; }
die() { echo "[slurm-local] ERROR: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (starts munged, slurmctld and slurmd)"

timeout_s="${SLURM_START_TIMEOUT:-60}"
conf_dir=/etc/slurm
conf="$conf_dir/slurm.conf"
log_dir=/var/log/slurm

# 1. Packages
missing=()
for pair in slurmctld:slurmctld slurmd:slurmd sinfo:slurm-client munged:munge; do
  bin="${pair%%:*}"; pkg="${pair##*:}"
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null \
    || die "apt-get install slurmctld slurmd slurm-client munge failed"
fi
export PATH="$PATH:/usr/sbin:/sbin"

# 2. Munge: a key (kept if present), then the daemon
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  log "writing a new munge key"
  (umask 077; dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none)
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "starting munged"
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged --force || die "munged did not start (see /var/log/munge/munged.log)"
  for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null || die "munge does not work (see /var/log/munge/munged.log)"
fi

# 3. slurm.conf for this host
host="$(hostname -s)"
cpus="$(nproc)"
mem_total="$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)"
headroom="${SLURM_MEM_HEADROOM:-$(( mem_total / 10 > 1024 ? mem_total / 10 : 1024 ))}"
real_mem=$(( mem_total - headroom ))
[ "$real_mem" -gt 256 ] || die "too little memory for a SLURM node: ${mem_total} MiB total, ${headroom} MiB headroom"
gres_line="" node_gres=""
if [ "${SLURM_DUMMY_GPU:-0}" = "1" ]; then
  gres_line="GresTypes=gpu"
  node_gres="Gres=gpu:1"
fi

install -d -m 0755 "$conf_dir" "$log_dir" /var/spool/slurmctld /var/spool/slurmd /run/slurm
new_conf="$(mktemp)"
trap 'rm -f "$new_conf"' EXIT
cat > "$new_conf" <<CONF
# Written by envs/slurm/start_local_cluster.sh: a single-node test cluster (no cgroups, no accounting).
ClusterName=mtsar2sar-local
SlurmctldHost=${host}(127.0.0.1)
AuthType=auth/munge
CryptoType=crypto/munge
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=${log_dir}/slurmctld.log
SlurmdLogFile=${log_dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=3600
SlurmdTimeout=300
InactiveLimit=0
KillWait=10
${gres_line}
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${real_mem} ${node_gres} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

# a pid file names a live daemon of that name (a stale file whose pid was reused does not count)
pid_alive() {
  local f="$1" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$(basename "$f" .pid)" ]
}

restart=0
if ! cmp -s "$new_conf" "$conf"; then
  log "writing $conf (CPUs=${cpus}, RealMemory=${real_mem} MiB)"
  cp "$new_conf" "$conf"
  chmod 0644 "$conf"
  restart=1
fi
if [ "${SLURM_DUMMY_GPU:-0}" = "1" ]; then
  echo "NodeName=${host} Name=gpu File=/dev/null" > "$conf_dir/gres.conf"
else
  rm -f "$conf_dir/gres.conf"
fi

stop_pidfile() {
  local f="$1" pid
  pid_alive "$f" || return 0
  pid="$(cat "$f")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
if [ "$restart" = 1 ]; then
  stop_pidfile /run/slurm/slurmd.pid
  stop_pidfile /run/slurm/slurmctld.pid
fi

# 4. Daemons (slurmctld first)
if ! pid_alive /run/slurm/slurmctld.pid; then
  log "starting slurmctld"
  # -c: forget jobs of an earlier run of this throwaway cluster
  slurmctld -c || die "slurmctld did not start (see ${log_dir}/slurmctld.log)"
fi
if ! pid_alive /run/slurm/slurmd.pid; then
  log "starting slurmd"
  slurmd || die "slurmd did not start (see ${log_dir}/slurmd.log)"
fi

# 5. Wait for the node to be idle (resume it once if an earlier run left it down or drained)
state="" resumed=0
deadline=$(( $(date +%s) + timeout_s ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  state="$(sinfo -h -n "$host" -o %T 2>/dev/null | head -n1 || true)"
  case "$state" in
    idle|mixed|allocated) break ;;
    down*|drain*|drained*|fail*)
      if [ "$resumed" = 0 ]; then
        log "node state '$state': resuming"
        scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true
        resumed=1
      fi ;;
  esac
  sleep 0.5
done
case "$state" in
  idle|mixed|allocated)
    log "cluster up: node ${host} ${state}, partition debug (CPUs=${cpus}, RealMemory=${real_mem} MiB)" ;;
  *)
    echo "--- sinfo ---" >&2; sinfo -N -l >&2 2>&1 || true
    echo "--- ${log_dir}/slurmctld.log (tail) ---" >&2; tail -n 20 "${log_dir}/slurmctld.log" >&2 2>/dev/null || true
    echo "--- ${log_dir}/slurmd.log (tail) ---" >&2; tail -n 20 "${log_dir}/slurmd.log" >&2 2>/dev/null || true
    die "node ${host} not idle after ${timeout_s}s (state: '${state:-unknown}')" ;;
esac
