#!/usr/bin/env bash
# Stop the single-node SLURM cluster started by envs/slurm/start_local_cluster.sh (slurmd, slurmctld,
# munged), by the process ids in their pid files. Idempotent: does nothing for what is not running.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "[slurm-local] ERROR: must run as root" >&2; exit 1; }

stop_pidfile() {
  local name="$1" f="$2" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
    echo "[slurm-local] stopping $name (pid $pid)" >&2
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$f"
}

stop_pidfile slurmd /run/slurm/slurmd.pid
stop_pidfile slurmctld /run/slurm/slurmctld.pid
if [ "${1:-}" != "--keep-munge" ]; then
  stop_pidfile munged /run/munge/munged.pid
fi
