#!/usr/bin/env bash
# An emulated cluster on one machine: N hosts, each a network namespace with its own hostname (UTS namespace, set
# by the launcher agent), address and loopback, on one bridge. OpenMPI reaches a host through the agent instead of
# ssh (TCP between hosts, shared memory inside one); files are shared, as on a cluster with a shared file system.
# Needs root. Traffic goes only to the addresses of the namespaces this script made.
#
#   scripts/cluster.sh up N [--name kn] [--subnet 10.211.0] [--slots 2]   make hosts kn1..knN (.1 .. .N; bridge .254)
#   scripts/cluster.sh mpirun [--name kn] [mpirun args...]                mpirun across them (hostfile, agent, MCA)
#   scripts/cluster.sh run [--name kn] HOST cmd...                        a command on one host (its netns + hostname)
#   scripts/cluster.sh link [--name kn] HOST up|down                      cut or restore one host's link
#   scripts/cluster.sh down [--name kn]                                   kill what runs on the hosts, remove them
#   scripts/cluster.sh dir [--name kn]                                    the state folder (hostfile, agent, env)
#   scripts/cluster.sh slurm-up|slurm-down [--name kn]                    Slurm across the hosts (cluster-slurm.sh)
#
# State lives in /tmp/kachi-cluster-NAME/: `hostfile` (HOST slots=S), `agent` (plm_rsh_agent), `env` (the MCA
# settings to source), `subnet`. Tests source `env` and call `mpirun --hostfile ... ` themselves, or use `mpirun`
# here. Two clusters can coexist with different names and subnets. Exit 77 when namespaces are refused (ctest skip).
set -euo pipefail

readonly SKIP=77
cmd=${1:-}
[[ -n $cmd ]] || { sed -n '2,17p' "$0"; exit 2; }
shift
name=kn
subnet=10.211.0
slots=2
count=
args=()
while (($#)); do
  case $1 in
    --name) name=$2; shift 2 ;;
    --subnet) subnet=$2; shift 2 ;;
    --slots) slots=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
state=/tmp/kachi-cluster-$name
bridge=${name}br
[[ ${#bridge} -le 15 ]] || { echo "cluster: name '$name' too long for interface names" >&2; exit 2; }

hosts_of() { [[ -f $state/hostfile ]] && awk '{print $1}' "$state/hostfile"; }

# /etc/hosts lines of this cluster carry a marker so that `down` removes exactly them; flock serializes edits.
hosts_add() { (flock 9; echo "$1 $2 # kachi-cluster $name" >>/etc/hosts) 9>/tmp/kachi-cluster.lock; }
hosts_remove() { (flock 9; sed -i "/ # kachi-cluster $name\$/d" /etc/hosts) 9>/tmp/kachi-cluster.lock; }

down() {
  local host
  [[ -d $state/slurm ]] && bash "$(dirname "$0")/cluster-slurm.sh" down --name "$name"
  for host in $(hosts_of 2>/dev/null || true); do
    if ip netns list 2>/dev/null | grep -qw "$host"; then
      ip netns pids "$host" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
      ip netns del "$host" 2>/dev/null || true
    fi
    ip link del "${name}v${host#"$name"}" 2>/dev/null || true
  done
  ip link del "$bridge" 2>/dev/null || true
  hosts_remove
  rm -rf "$state"
}

up() {
  local n=$1 i host
  [[ $(id -u) -eq 0 ]] || { echo "SKIPPED: the emulated cluster needs root (network namespaces)"; exit $SKIP; }
  command -v ip >/dev/null || { echo "SKIPPED: iproute2 (ip) is missing"; exit $SKIP; }
  [[ -d $state ]] && down
  if ! ip netns add "${name}probe" 2>/dev/null; then
    echo "SKIPPED: network namespaces are refused on this machine (ip netns add failed)"; exit $SKIP
  fi
  ip netns del "${name}probe"
  mkdir -p "$state"
  echo "$subnet" >"$state/subnet"
  ip link add "$bridge" type bridge
  ip addr add "$subnet.254/24" dev "$bridge"
  ip link set "$bridge" up
  : >"$state/hostfile"
  for ((i = 1; i <= n; i++)); do
    host=$name$i
    ip netns add "$host"
    ip link add "${name}v$i" type veth peer name eth0 netns "$host"
    ip link set "${name}v$i" master "$bridge" up
    ip netns exec "$host" ip addr add "$subnet.$i/24" dev eth0
    ip netns exec "$host" ip link set eth0 up
    ip netns exec "$host" ip link set lo up
    hosts_add "$subnet.$i" "$host"
    echo "$host slots=$slots" >>"$state/hostfile"
  done
  # The agent: "agent HOST [ssh options] cmd..." runs cmd inside namespace HOST under hostname HOST.
  cat >"$state/agent" <<'SH'
#!/bin/bash
host=$1; shift
while [[ $1 == -* ]]; do shift; done
exec ip netns exec "$host" unshare --uts bash -c "hostname $host; $*"
SH
  chmod +x "$state/agent"
  cat >"$state/env" <<ENV
# Source me: OpenMPI across the emulated hosts of cluster $name.
export KACHI_CLUSTER_DIR=$state
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_plm_rsh_agent=$state/agent
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_oob_tcp_if_include=$subnet.0/24 OMPI_MCA_btl_tcp_if_include=$subnet.0/24
export OMPI_MCA_hwloc_base_binding_policy=none OMPI_MCA_rmaps_base_oversubscribe=1
# The emulated hosts share this machine's cores, which OpenMPI cannot see (each host declares its own slots): idle
# ranks must yield, or busy-polling ranks starve the TCP stack and the ranks they wait for (bench/RESULTS.md,
# 2026-12-03 "emulated hosts": a 1 KiB all-reduce across 2 hosts 47 ms busy-polling, 0.17 ms yielding).
export OMPI_MCA_mpi_yield_when_idle=1
ENV
  # Every host must answer on its address before anyone launches onto it.
  for ((i = 1; i <= n; i++)); do
    ping -c1 -W2 "$subnet.$i" >/dev/null 2>&1 || { echo "cluster: host $name$i ($subnet.$i) does not answer" >&2; down; exit 1; }
  done
  echo "cluster $name: $n hosts ($subnet.1-$subnet.$n, $slots slots each), state in $state"
}

case $cmd in
  up) [[ ${#args[@]} -eq 1 && ${args[0]} =~ ^[1-9][0-9]*$ ]] || { echo "usage: cluster.sh up N" >&2; exit 2; }
      up "${args[0]}" ;;
  down) down ;;
  dir) echo "$state" ;;
  slurm-up) exec bash "$(dirname "$0")/cluster-slurm.sh" up --name "$name" ;;
  slurm-down) exec bash "$(dirname "$0")/cluster-slurm.sh" down --name "$name" ;;
  mpirun)
    [[ -f $state/env ]] || { echo "cluster $name is not up (scripts/cluster.sh up N)" >&2; exit 2; }
    # shellcheck disable=SC1091
    source "$state/env"
    exec mpirun --hostfile "$state/hostfile" "${args[@]}" ;;
  run)
    [[ ${#args[@]} -ge 2 ]] || { echo "usage: cluster.sh run HOST cmd..." >&2; exit 2; }
    exec "$state/agent" "${args[@]}" ;;
  link)
    [[ ${#args[@]} -eq 2 ]] || { echo "usage: cluster.sh link HOST up|down" >&2; exit 2; }
    ip link set "${name}v${args[0]#"$name"}" "${args[1]}" ;;
  *) echo "cluster: unknown command '$cmd' (up, down, dir, mpirun, run, link, slurm-up, slurm-down)" >&2; exit 2 ;;
esac
