#!/usr/bin/env bash
# The GPU machine's checks (issue 12) in two device calls of at most 10 minutes each, for one lent H200 (CUDA 13,
# PyTorch 2.11, cmake, ninja; OpenMPI, protobuf, abseil and GoogleTest come from .deps/, made here by
# scripts/deps_bundle.sh and carried). Each call writes its logs, phases.tsv (phase, exit code, seconds) and a
# one-page SUMMARY.md (scripts/gpu_check_summary.py: pass/fail per check, each figure beside its peer) under OUT.
#
#   call1: configure (.deps, CUDA arch 90, NCCL from the image or its nvidia-nccl wheel), build only the targets the
#          GPU tests and benches need (-j16), regenerate the PyTorch reference files and compare them with the
#          committed ones, `KACHI_REQUIRE_GPU=1 ctest -L gpu` (a GPU test that skips fails), `kachi bench kernels`.
#   call2: (re)build if the machine is fresh, `kachi bench train` (GPT-2 124M, bf16, B=32, T=1024) beside torch eager
#          and torch.compile, bench_ckpt (save vs dd, async stall), the lanes run on the GPU
#          (configs/lanes_gpu.pbtxt, 4 ranks sharing the GPU), GPT-2 1.5B with activation recompute (no torch peer).
#   plan:  prints each call's phases, commands and time budgets; touches nothing (runs anywhere).
#
# Device call (the run tool; timeout_s 600 each; carry .deps):
#   run(command="bash scripts/gpu_check.sh call1 $OUT", carry=[".deps"], timeout_s=600)
#   run(command="bash scripts/gpu_check.sh call2 $OUT", carry=[".deps"], timeout_s=600)   (right after: warm machine
#   keeps build-gpu/, else call2 rebuilds kachi and bench_ckpt, ~2 min more)
#
# Expected device minutes (15 per session in all, start-up and idle included): start-up ~1-2; call1 ~8 (configure 0.3,
# build 3-4 at -j16, reference 0.5, ctest -L gpu 2-3, bench kernels 1-2); call2 ~9 (train 3-4 with torch.compile's
# warm-up, ckpt 1, lanes 2, 1.5B recompute 1.5); total ~18-19: more than one 15-minute lease, so a session runs
# call1, fixes what fails, and runs call2 in the next lease, or runs both with KACHI_GPU_BUDGET_S lowered.
# Measured here (2026-12-03, this CPU box, 2 cores, no GPU; the CUDA kernels' objects dominate a cold build):
# configure 5 s; build of call1's targets from cold without ccache ~20 min at -j2 (estimate from the
# deps chroot build of kachi alone: see scripts/deps_chroot_check.sh's log) -> ~3 min at -j16; `ctest -L gpu`
# skipping everything 15 s at -j2; `plan` and the summary < 1 s. The GPU phases cannot be timed here.
# Every phase gets at most its own limit and what is left of KACHI_GPU_BUDGET_S (default 560 s), so the summary is
# always written before the device's 600-s limit.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
call=${1:-}
out=${2:-${OUT:-$repo/gpu-logs}}
build=${KACHI_BUILD_DIR:-$repo/build-gpu}
jobs=${KACHI_GPU_JOBS:-16}
budget=${KACHI_GPU_BUDGET_S:-560}
start=$(date +%s)

case $call in call1|call2|plan) ;; *)
  echo "usage: bash scripts/gpu_check.sh call1|call2|plan [OUT]   (see the header)" >&2; exit 2 ;; esac

# The phases of each call: name, limit in seconds, what it runs (a shell function below).
phases_call1="env:20 configure:60 build:300 reference:60 ctest_gpu:300 bench_kernels:240"
phases_call2="env:20 configure:60 build:240 bench_train:270 bench_ckpt:100 lanes_gpu:120 train_1558m_recompute:120"

if [[ $call == plan ]]; then
  for c in call1 call2; do
    v=phases_$c; total=0
    echo "$c (each phase capped by what is left of ${budget} s):"
    for p in ${!v}; do echo "  ${p%%:*}: at most ${p##*:} s"; total=$((total + ${p##*:})); done
    echo "  sum of the caps: $total s"
  done
  exit 0
fi

mkdir -p "$out" && out=$(cd "$out" && pwd)
: >"$out/phases.tsv"
[ -f "$repo/.deps/env.sh" ] && . "$repo/.deps/env.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export KACHI_REQUIRE_GPU=1

# phase NAME LIMIT: runs phase_NAME with output to OUT/NAME.log, capped by the budget left; records it in phases.tsv.
phase() {
  local name=$1 limit=$2 left rc t0
  left=$((budget - ($(date +%s) - start)))
  ((left < limit)) && limit=$left
  if ((limit < 10)); then
    printf '%s\t%s\t%s\n' "$name" skipped 0 >>"$out/phases.tsv"; echo "== $name: no time left"; return
  fi
  echo "== $name (limit $limit s)"
  t0=$(date +%s)
  PHASE_LIMIT=$limit "phase_$name" >"$out/$name.log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(($(date +%s) - t0))" >>"$out/phases.tsv"
  echo "   exit $rc, $(($(date +%s) - t0)) s"; tail -3 "$out/$name.log" | sed 's/^/   | /'
}
lim() { timeout --kill-after=5 "$PHASE_LIMIT" "$@"; }

phase_env() {
  date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  nvcc --version | tail -2; cmake --version | head -1; g++ --version | head -1
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
  echo "mpirun: $(command -v mpirun)  protoc: $(command -v protoc)  .deps: $([ -f "$repo/.deps/env.sh" ] && echo yes || echo no)"
}

# NCCL: the system's, else the nvidia-nccl wheel of the image's python.
nccl_flags() {
  [ -f /usr/include/nccl.h ] && return
  local d
  d=$(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__))' 2>/dev/null) || return
  [ -f "$d/include/nccl.h" ] || return
  echo "-DNCCL_INCLUDE_DIR=$d/include -DNCCL_LIBRARY=$(ls "$d"/lib/libnccl.so* | head -1)"
}
phase_configure() {
  local flags; flags=$(nccl_flags)
  echo "NCCL flags: ${flags:-(system)}"
  lim cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 $flags || return 1
  (cd "$build" && ctest -N -L gpu | tail -1) | grep -q 'Total Tests: [1-9][0-9]' ||
    { echo "FAIL: fewer than 10 gpu tests: not a CUDA build (nvcc or NCCL not found?)"; return 1; }
}
# The executables the gpu-labelled tests run (their target names are their file names).
gpu_test_targets() {
  (cd "$build" && ctest -N -L gpu --show-only=json-v1) | python3 -c '
import json, os, sys
b = sys.argv[1]
names = {os.path.basename(a) for t in json.load(sys.stdin)["tests"] for a in t["command"]
         if a.startswith(b) and not a.endswith(".sh")}
print(" ".join(sorted(names)))' "$build"
}
phase_build() {
  local targets="kachi bench_ckpt"
  [[ $call == call1 ]] && targets="kachi $(gpu_test_targets)"
  echo "targets: $targets"
  lim cmake --build "$build" -j "$jobs" --target $targets
}
phase_reference() {
  local refdir=$repo/tests/data/torch_reference heads name ref
  for heads in 4 1; do
    name=$([[ $heads == 4 ]] && echo gpt2_tiny_reference || echo gpt2_tiny_hs64_reference)
    ref=$refdir/$name.safetensors
    cp "$ref" "$out/committed_$name.safetensors"
    lim python3 "$refdir/make_reference.py" --heads $heads --out "$ref" || return 1
    python3 - "$out/committed_$name.safetensors" "$ref" <<'PY' || return 1
import sys
from safetensors.numpy import load_file
a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
assert a.keys() == b.keys(), "different tensor names"
worst = max(float(abs(a[k].astype("float64") - b[k].astype("float64")).max()) for k in a)
print(f"kachi_reference name={sys.argv[2].split('/')[-1]} tensors={len(a)} max_abs_diff={worst:g}")
PY
    rm -f "$out/committed_$name.safetensors"
  done
}
phase_ctest_gpu() {
  (cd "$build" && lim ctest -L gpu --output-on-failure -j "${KACHI_GPU_CTEST_JOBS:-2}" --timeout 240)
}
phase_bench_kernels() { lim "$build/kachi" bench kernels; }
phase_bench_train() {
  lim "$build/kachi" bench train --set model.preset=gpt2_124m --set train.seq_len=1024 --bench_micro_batch=32 \
    --bench_profile --bench_torch_timeout_s=$((PHASE_LIMIT - 60))
}
phase_bench_ckpt() { lim "$build/bench/ckpt/bench_ckpt" /tmp/kachi_ckpt_bench 3; }
phase_lanes_gpu() {
  local dir=/tmp/kachi_lanes_gpu
  rm -rf "$dir" && mkdir -p "$dir"
  cat "$repo"/README.md "$repo"/bench/RESULTS.md "$repo"/kernels/README.md >"$dir/text.txt"
  "$build/kachi" data --out "$dir/data" "$dir/text.txt" || return 1
  (cd "$dir" && lim mpirun -np 4 "$build/kachi" lanes "$repo/configs/lanes_gpu.pbtxt" \
    --set base.data.train="$dir/data/train_*.bin" --set base.data.val="$dir/data/val_*.bin" \
    --set base.checkpoint.dir="$dir/run") || return 1
  cp "$dir/run/lanes_report.html" "$out/" 2>/dev/null; true
}
phase_train_1558m_recompute() {
  lim "$build/kachi" bench train --set model.preset=gpt2_1558m --set train.activation_recompute=true \
    --bench_micro_batch=16 --bench_warmup=1 --bench_steps=3 --bench_torch=false
}

v=phases_$call
for p in ${!v}; do
  phase "${p%%:*}" "${p##*:}"
  # Nothing after a failed configure or build can run.
  if [[ ${p%%:*} == configure || ${p%%:*} == build ]] && [ "$(tail -1 "$out/phases.tsv" | cut -f2)" != 0 ]; then break; fi
done
python3 "$repo/scripts/gpu_check_summary.py" "$out" "$call" >"$out/SUMMARY.md"
cat "$out/SUMMARY.md"
