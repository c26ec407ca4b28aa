#!/usr/bin/env bash
# `kachi bench scaling` on an emulated cluster of 2 hosts x 2 ranks (scripts/cluster.sh: network namespaces, TCP
# between hosts, shared memory inside one): the same points as on one host, plus the all-reduce sweep across hosts
# that fits the inter-host link; torn down on exit. Needs root; exits 77 when namespaces are refused.
#   bash bench/scaling/cluster_scaling.sh [OUT_DIR] [kachi bench scaling args...]
# e.g. bash bench/scaling/cluster_scaling.sh out/ks --config configs/fortunes_cpu.pbtxt
# Writes OUT_DIR/scaling.txt (the tables), scaling.html, scaling.jsonl and trace.json.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$(mktemp -d)}
shift || true
kachi=${KACHI_BUILD_DIR:-$repo/build}/kachi
name=${KACHI_SCALING_CLUSTER_NAME:-ks}
subnet=${KACHI_SCALING_CLUSTER_SUBNET:-10.213.0}
mkdir -p "$out"
export OMPI_MCA_mpi_yield_when_idle=1  # 4 ranks share the cores of one machine: blocked ranks yield
cleanup() { bash "$repo/scripts/cluster.sh" down --name "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
bash "$repo/scripts/cluster.sh" up 2 --name "$name" --subnet "$subnet" --slots 2 >"$out/cluster_up.log" 2>&1
rc=$?
if [[ $rc -eq 77 ]]; then
  echo "SKIP: network namespaces are refused here (scripts/cluster.sh up exited 77):"; cat "$out/cluster_up.log"
  exit 77
fi
[[ $rc -eq 0 ]] || { echo "FAIL: scripts/cluster.sh up exited $rc:"; cat "$out/cluster_up.log"; exit 1; }
# Model arguments (default: the tiny model) and the benchmark's settings (KACHI_SCALING_SETTINGS, text format).
[[ $# -gt 0 ]] || set -- --set model.preset=tiny --set train.seq_len=32 --set train.micro_batch=2
settings=${KACHI_SCALING_SETTINGS:-warmup_steps: 1 timed_steps: 2 sweep_iters: 3 sweep_max_bytes: 1048576}
bash "$repo/scripts/cluster.sh" mpirun --name "$name" -np 4 --map-by ppr:2:node "$kachi" bench scaling \
  --bench_cluster "$repo/configs/cluster_h100_ib.pbtxt" "$@" \
  --bench_scaling="$settings report: \"$out/scaling.html\" jsonl: \"$out/scaling.jsonl\"" \
  --timeline "$out/trace.json" 2>&1 | tee "$out/scaling.txt"
exit "${PIPESTATUS[0]}"
