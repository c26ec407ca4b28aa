#!/usr/bin/env bash
# Slurm across the emulated hosts of scripts/cluster.sh (issue 14 item 1): slurmctld in the root network namespace
# on the bridge address (.254, under hostname NAMEctl), one slurmd per host started inside that host's namespace
# under its hostname, munge's socket shared (one munged, started here when none answers). Ports, spool, logs and
# slurm.conf live in the cluster's state folder, so it neither needs nor touches /etc/slurm.
#   scripts/cluster-slurm.sh up [--name kn]     (after `scripts/cluster.sh up N --name kn`); then
#   source /tmp/kachi-cluster-kn/slurm/env       (SLURM_CONF) and use sbatch / srun / sinfo as usual
#   scripts/cluster-slurm.sh down [--name kn]    (also done by `scripts/cluster.sh down`)
# Exit 77 when Slurm or munge is not installed (ctest skip).
set -euo pipefail
readonly SKIP=77
cmd=${1:-}; shift || true
name=kn
while (($#)); do
  case $1 in
    --name) name=$2; shift 2 ;;
    *) echo "cluster-slurm: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
state=/tmp/kachi-cluster-$name
dir=$state/slurm

# Stops the process of a pid file and waits (at most 5 s) until it is gone.
stop_pidfile() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  rm -f "$1"
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

down() {
  [[ -d $dir ]] || return 0
  local f
  for f in "$dir"/slurmd-*.pid "$dir/slurmctld.pid" "$dir/munged.pid"; do [[ -e $f ]] && stop_pidfile "$f"; done
  rm -rf "$dir"
}

up() {
  [[ -f $state/hostfile && -f $state/subnet ]] || { echo "cluster $name is not up (scripts/cluster.sh up N)" >&2; exit 2; }
  for tool in slurmctld slurmd munged sbatch; do
    command -v $tool >/dev/null || [[ -x /usr/sbin/$tool ]] || { echo "SKIPPED: $tool is not installed"; exit $SKIP; }
  done
  [[ -d $dir ]] && down
  mkdir -p "$dir/ctld"
  local subnet hosts n port i host
  subnet=$(cat "$state/subnet")
  mapfile -t hosts < <(awk '{print $1}' "$state/hostfile")
  n=${#hosts[@]}
  slots=$(awk 'NR == 1 { sub("slots=", "", $2); print $2 }' "$state/hostfile")
  # Ports from the subnet's second octet, so clusters with different subnets do not collide.
  port=$((17000 + $(cut -d. -f2 <<<"$subnet")))

  # munge: reuse a running munged (its socket is a file, visible from every namespace), else start one.
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    runuser -u munge -- /usr/sbin/munged
    cp /run/munge/munged.pid "$dir/munged.pid"  # ours: stopped by `down`
    munge -n | unmunge >/dev/null || { echo "cluster-slurm: munged does not answer" >&2; exit 1; }
  fi

  cat >"$dir/slurm.conf" <<CONF
ClusterName=$name
SlurmctldHost=${name}ctl($subnet.254)
SlurmctldPort=$port
SlurmdPort=$((port + 100))
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool-%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd-%n.log
TmpFS=/tmp
DebugFlags=NO_CONF_HASH
CONF
  cat "$(dirname "$0")/slurm-common.conf" >>"$dir/slurm.conf"
  for ((i = 1; i <= n; i++)); do
    echo "NodeName=${hosts[i - 1]} NodeAddr=$subnet.$i CPUs=$slots RealMemory=1000 State=UNKNOWN" >>"$dir/slurm.conf"
  done
  echo "PartitionName=$name Nodes=$(IFS=,; echo "${hosts[*]}") Default=YES MaxTime=INFINITE State=UP" >>"$dir/slurm.conf"
  echo "export SLURM_CONF=$dir/slurm.conf" >"$dir/env"

  unshare --uts bash -c "hostname ${name}ctl; exec /usr/sbin/slurmctld -f '$dir/slurm.conf'"
  for host in "${hosts[@]}"; do
    mkdir -p "$dir/spool-$host" "$dir/tmp-$host"
    # Each host its own TmpFS (PMIx's per-step folders would collide in the shared /tmp), hence its own copy of
    # the configuration. nsenter rather than `ip netns exec`, which remounts /sys without the cgroup file system
    # slurmd wants.
    sed "s|^TmpFS=.*|TmpFS=$dir/tmp-$host|" "$dir/slurm.conf" >"$dir/slurm-$host.conf"
    nsenter --net="/run/netns/$host" unshare --uts bash -c \
      "hostname $host; exec /usr/sbin/slurmd -f '$dir/slurm-$host.conf' -N $host"
  done
  # Ready when every node is idle.
  export SLURM_CONF=$dir/slurm.conf
  for _ in $(seq 60); do
    if [[ $(sinfo -h -N -o '%T' 2>/dev/null | grep -c '^idle') -eq $n ]]; then
      echo "slurm on cluster $name: slurmctld on $subnet.254:$port, slurmd on ${hosts[*]} (source $dir/env)"
      return 0
    fi
    sleep 0.5
  done
  sinfo -N 2>&1 || true
  tail -5 "$dir/slurmctld.log" 2>/dev/null || true
  echo "cluster-slurm: the nodes did not become idle" >&2
  down
  exit 1
}

case $cmd in
  up) up ;;
  down) down ;;
  *) echo "usage: cluster-slurm.sh up|down [--name kn]" >&2; exit 2 ;;
esac
