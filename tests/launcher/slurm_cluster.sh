#!/usr/bin/env bash
# Sourced by the Slurm tests: starts a private one-node Slurm cluster for this run (own munge socket and key, own
# slurm.conf with free ports, own state and log directories under $base), exports SLURM_CONF and the OpenMPI
# settings for one box, and stops the daemons by PID on exit. Needs root (slurmd). Installs slurm-wlm and munge with
# apt-get if they are missing (scripts/setup.sh installs them ahead of time); exits 77 (ctest: skipped) only when
# that fails. Defines skip, fail and dump_logs for the caller.
readonly SKIP=77

skip() { echo "SKIPPED: $*"; exit $SKIP; }
fail() { echo "FAIL: $*" >&2; dump_logs; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "the one-node Slurm needs root (slurmd runs as root)"
if ! command -v srun >/dev/null || ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
   ! command -v munged >/dev/null; then
  echo "slurm-wlm/munge missing: installing them with apt-get"
  if ! command -v apt-get >/dev/null ||
     ! DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y --no-install-recommends slurm-wlm munge \
       >/dev/null 2>&1 &&
     ! { timeout 300 apt-get update >/dev/null 2>&1 &&
         DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y --no-install-recommends slurm-wlm munge \
           >/dev/null 2>&1; }; then
    skip "slurm-wlm and munge are not installed and could not be installed with apt-get"
  fi
fi
id slurm >/dev/null 2>&1 || skip "the slurm user is missing although slurm-wlm is installed"
id munge >/dev/null 2>&1 || skip "the munge user is missing although munge is installed"

base=$(mktemp -d /tmp/kachi-slurm.XXXXXX)
chmod 755 "$base"
pids=()
dump_logs() {
  for log in "$base"/log/*.log "$base"/munge/munged.log; do
    [[ -s $log ]] && { echo "--- $log (last 20 lines)"; tail -n 20 "$log"; }
  done
}
cleanup() {
  local pid
  for pidfile in "$base"/run/slurmd.pid "$base"/run/slurmctld.pid "$base"/munge-run/munged.pid; do
    [[ -s $pidfile ]] && pid=$(<"$pidfile") && kill "$pid" 2>/dev/null
  done
  sleep 0.5
  for pidfile in "$base"/run/slurmd.pid "$base"/run/slurmctld.pid "$base"/munge-run/munged.pid; do
    [[ -s $pidfile ]] && pid=$(<"$pidfile") && kill -9 "$pid" 2>/dev/null
  done
  rm -rf "$base"
}
trap cleanup EXIT

# A port nobody listens on (bash's /dev/tcp connect fails), from a range away from Slurm's defaults.
free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  return 1
}

# munge: private key (and log, seed) in a closed directory, socket and pid file in an open one.
mkdir -p "$base/munge" "$base/munge-run"
dd if=/dev/urandom of="$base/munge/munge.key" bs=1024 count=1 status=none
chown munge:munge "$base/munge" "$base/munge/munge.key" "$base/munge-run"
chmod 700 "$base/munge"
chmod 755 "$base/munge-run"
chmod 600 "$base/munge/munge.key"
runuser -u munge -- munged --socket="$base/munge-run/munge.socket" --key-file="$base/munge/munge.key" \
  --pid-file="$base/munge-run/munged.pid" --log-file="$base/munge/munged.log" --seed-file="$base/munge/munged.seed" ||
  fail "munged did not start"

# Slurm: private configuration, ports, state and logs.
mkdir -p "$base/state" "$base/spool" "$base/log" "$base/run" "$base/tmp"
chown slurm:slurm "$base/state" "$base/log"
chmod 777 "$base/run"
chmod 1777 "$base/tmp"
ctld_port=$(free_port) || fail "no free port for slurmctld"
slurmd_port=$(free_port) || fail "no free port for slurmd"
cat >"$base/slurm.conf" <<CONF
ClusterName=kachitest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthInfo=socket=$base/munge-run/munge.socket
SlurmUser=slurm
SlurmdUser=root
StateSaveLocation=$base/state
SlurmdSpoolDir=$base/spool
SlurmctldPidFile=$base/run/slurmctld.pid
SlurmdPidFile=$base/run/slurmd.pid
SlurmctldLogFile=$base/log/slurmctld.log
SlurmdLogFile=$base/log/slurmd.log
# Private temporary directory: the PMIx plugin makes spmix_appdir_<uid>_<job>.<step> in it, and every test cluster
# numbers its jobs from 1, so two clusters sharing /tmp (two test runs at once) would collide.
TmpFS=$base/tmp
CONF
cat "$(dirname "${BASH_SOURCE[0]}")/../../scripts/slurm-common.conf" >>"$base/slurm.conf"
cat >>"$base/slurm.conf" <<CONF
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
chmod 644 "$base/slurm.conf"
export SLURM_CONF="$base/slurm.conf"
/usr/sbin/slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
/usr/sbin/slurmd -f "$SLURM_CONF" -N localhost || fail "slurmd did not start"

for _ in $(seq 60); do
  state=$(sinfo -h -N -o %T 2>/dev/null | head -n1)
  [[ $state == idle* ]] && break
  sleep 0.5
done
[[ $state == idle* ]] || fail "the one-node cluster never became idle (sinfo state: '${state:-none}')"

# OpenMPI under srun: shared memory on one box, no binding.
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_hwloc_base_binding_policy=none
unset OMPI_COMM_WORLD_RANK OMPI_COMM_WORLD_SIZE OMPI_COMM_WORLD_LOCAL_RANK OMPI_COMM_WORLD_LOCAL_SIZE PMIX_RANK

