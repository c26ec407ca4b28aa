#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: set up (scripts/setup.sh), then the collective benchmark on 4 ranks
# of this machine, `mpirun -np 4 --oversubscribe build/kachi bench comm`. Extra arguments go to kachi, e.g.
#   bash scripts/main.sh --config configs/bench_comm_cpu.pbtxt
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/setup.sh"

# mpirun as root on one box: allowed, shared-memory transport, no core binding (oversubscribed).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_hwloc_base_binding_policy=none
cd "$repo"
mpirun -np 4 --oversubscribe "${KACHI_BUILD_DIR:-$repo/build}/kachi" bench comm "$@"
