#!/usr/bin/env bash
# The GPU machine's checks (issue 12) in two device calls of at most 10 minutes each, for one lent H200 (CUDA 13,
# PyTorch 2.11, cmake, ninja; OpenMPI, protobuf, abseil and GoogleTest come from .deps/, made here by
# scripts/deps_bundle.sh and carried). Each call writes its logs, phases.tsv (phase, exit code, seconds) and a
# one-page SUMMARY.md (scripts/gpu_check_summary.py: PASS/FAIL per check, each figure beside its peer and goal)
# under OUT, and exits 1 when the summary has a FAIL.
#
#   call1: configure (.deps, CUDA arch 90, NCCL from the image or its nvidia-nccl wheel), build only the targets the
#          GPU tests need (-j16), regenerate the PyTorch reference files and compare them with the committed ones,
#          `KACHI_REQUIRE_GPU=1 ctest -L gpu` (a GPU test that skips fails), `kachi bench kernels`.
#   call2: (re)build kachi + bench_ckpt if the machine is fresh, `kachi bench train` (GPT-2 124M, bf16, B=32,
#          T=1024) beside torch eager and torch.compile, bench_ckpt (save vs dd, async stall), the lanes run on the
#          GPU (configs/lanes_gpu.pbtxt, 4 ranks sharing the GPU), GPT-2 1.5B with activation recompute (no peer).
#   plan:  each call's phases and time caps.
#   --dry-run (or KACHI_GPU_CHECK_DRY_RUN=1) call1|call2: runs nowhere near a GPU; prints every command the call
#          would run with its time cap, and checks that each exists on this tree (CMake targets in the build folder,
#          `kachi` flags, --set fields, preset names, configs, scripts); exits 1 naming any that does not.
#
# Device calls (the run tool; timeout_s 600 each; carry .deps):
#   run(command="bash scripts/gpu_check.sh call1 $OUT", carry=[".deps"], timeout_s=600)
#   run(command="KACHI_GPU_BUDGET_S=<left - 60> bash scripts/gpu_check.sh call2 $OUT", carry=[".deps"], ...)
#   Run call2 right after call1 while the machine is warm (build-gpu/ is kept; on a fresh machine call2 rebuilds
#   kachi and bench_ckpt first, ~3 min, and its last phases are cut).
#
# Expected device minutes (15 per session in all, start-up, transfers and idle included): start-up ~1-2;
# call1 ~6-9, capped at 9.25 (env 0.25, configure 0.75, build 3.5 at -j16 from cold, reference 0.75, ctest -L gpu 2,
# bench kernels 2); call2 ~4-9, capped at 9.3 (build a no-op when warm, train 3.3 with torch.compile's warm-up,
# ckpt 1, lanes 1, 1.5B recompute 1). Both calls at their caps plus start-up exceed one 15-minute lease, so every
# phase is capped by its own limit and by what is left of KACHI_GPU_BUDGET_S (default 560 s per call), phases run
# in order of importance, and the summary marks a phase the budget cut as FAIL (figure missing). Give call2 what
# `status` says is left, minus a minute; if too little is left, run call2 first in the next lease.
# Measured here (2026-12-04, this CPU box, 2 cores shared with other builds, no GPU): the CUDA build of every GPU
# test target from a warm ccache 20 s (cold: ~20 min at -j2, so ~3-4 min at -j16 with no cache on the device);
# `ctest -L gpu` skipping all 22 tests 16 s at -j2; a dry run of either call and the summary < 2 s. The GPU phases
# themselves cannot be timed here. Run for real here (KACHI_BUILD_DIR=build KACHI_GPU_CHECK_NO_GPU=1): call1 20 s,
# every check FAIL as it must (22 GPU tests Failed under KACHI_REQUIRE_GPU=1, no numpy/torch, no device for the
# kernels); call2 without KACHI_GPU_CHECK_NO_GPU stops after env ("no GPU visible"), every later phase not reached.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dry=${KACHI_GPU_CHECK_DRY_RUN:-0}
[[ ${1:-} == --dry-run ]] && { dry=1; shift; }
[[ $dry == 0 ]] || dry=1
call=${1:-}
out=${2:-${OUT:-$repo/gpu-logs}}
jobs=${KACHI_GPU_JOBS:-16}
budget=${KACHI_GPU_BUDGET_S:-560}
start=$(date +%s)
if [[ -n ${KACHI_BUILD_DIR:-} ]]; then build=$KACHI_BUILD_DIR
elif ((dry)) && [ ! -d "$repo/build-gpu" ]; then build=$repo/build  # a dry run checks the CUDA build folder here
else build=$repo/build-gpu; fi

case $call in call1|call2|plan) ;; *)
  echo "usage: bash scripts/gpu_check.sh [--dry-run] call1|call2|plan [OUT]   (see the header)" >&2; exit 2 ;; esac

# The phases of each call in order: name:limit in seconds (each runs the shell function phase_NAME below).
# The caps of each call sum to at most the default budget, so every phase gets its cap even when all take it.
phases_call1="env:15 configure:45 build:210 reference:45 ctest_gpu:120 bench_kernels:120"
# call2 expects call1's build folder (a warm machine); on a fresh one its build gets call1's cap and the last phases
# are cut by the budget instead (the summary says which).
phases_call2="env:15 configure:45 build:$([ -x "$build/kachi" ] && echo 120 || echo 210) bench_train:200 bench_ckpt:60"
phases_call2+=" lanes_gpu:60 train_1558m_recompute:60"

if [[ $call == plan ]]; then
  for c in call1 call2; do
    v=phases_$c; total=0
    echo "$c (each phase capped by what is left of ${budget} s):"
    for p in ${!v}; do echo "  ${p%%:*}: at most ${p##*:} s"; total=$((total + ${p##*:})); done
    echo "  sum of the caps: $total s"
  done
  exit 0
fi

problems=0 spent=0
# problem TEXT: a dry run found a command that would not work on this tree.
problem() { echo "  PROBLEM: $*"; problems=$((problems + 1)); }
# x CMD...: runs CMD, or in a dry run prints it.
x() { if ((dry)); then echo "  \$ $(printf '%q ' "$@")"; else "$@"; fi; }
# lim CMD...: runs CMD under the phase's time limit, or in a dry run prints it with the limit.
lim() { x timeout --kill-after=5 "$PHASE_LIMIT" "$@"; }
# need_file PATH: in a dry run, PATH must exist.
need_file() { ((dry)) && [ ! -e "$1" ] && problem "missing file ${1#$repo/}"; true; }
# need_flag NAME: in a dry run, this tree's kachi (in the build folder) must define --NAME.
need_flag() {
  ((dry)) || return 0
  [ -x "$build/kachi" ] || { problem "no $build/kachi to check --$1 against (build kachi there)"; return 0; }
  [ -n "${helpfull:-}" ] || helpfull=$("$build/kachi" --helpfull 2>&1)
  grep -q -- "--$1 " <<<"$helpfull" || problem "kachi has no flag --$1"
}
# need_set FIELD=VALUE: in a dry run, FIELD's last part must be a field of runtime/proto/*.proto and a model.preset
# value a preset runtime/model/gpt_shape.cc knows.
need_set() {
  ((dry)) || return 0
  local field=${1%%=*} value=${1#*=}
  grep -qE "^\s*(optional|repeated|required)?\s*\S+\s+${field##*.}\s*=" "$repo"/runtime/proto/*.proto ||
    problem "no field '${field##*.}' (--set $field) in runtime/proto/*.proto"
  [[ $field == *model.preset ]] && ! grep -q "\"$value\"" "$repo/runtime/model/gpt_shape.cc" &&
    problem "unknown model preset $value"
  true
}

if ((dry)); then
  echo "# dry run of gpu_check.sh $call: build folder $build, OUT $out, budget $budget s, -j$jobs; nothing runs"
else
  mkdir -p "$out" && out=$(cd "$out" && pwd)
  : >"$out/phases.tsv"
fi
[ -f "$repo/.deps/env.sh" ] && . "$repo/.deps/env.sh"
((dry)) && [ ! -f "$repo/.deps/env.sh" ] && echo "  note: no .deps/ here (bash scripts/deps_bundle.sh makes it; carry it)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# A GPU test that would skip for want of a device fails instead (tests/gpu_skip.h).
export KACHI_REQUIRE_GPU=1

# phase NAME LIMIT: runs phase_NAME with output to OUT/NAME.log, capped by the budget left; records it in phases.tsv.
phase() {
  local name=$1 limit=$2 left rc t0
  left=$((budget - ($(date +%s) - start)))
  ((left < limit)) && limit=$left
  if ((dry)); then  # as if every earlier phase took its whole cap
    left=$((budget - spent)); ((left < limit)) && limit=$left
    echo "== $name (at most $limit s, from $spent s at the latest)$( ((limit < 10)) && echo ': CUT by the budget')"
    spent=$((spent + limit)); PHASE_LIMIT=$limit "phase_$name"; return
  fi
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

phase_env() {
  x date -u
  x nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  ((dry)) || echo "gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')"
  ((dry)) || echo "gpu: $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -1)"
  x nvcc --version; x cmake --version; x g++ --version
  x python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
  x python3 -c 'import safetensors, transformers; print("safetensors", safetensors.__version__, "transformers", transformers.__version__)'
  ((dry)) && return
  echo "mpirun: $(command -v mpirun)  protoc: $(command -v protoc)  .deps: $([ -f "$repo/.deps/env.sh" ] && echo yes || echo no)"
  # No GPU: stop here rather than spend the call training GPT-2 on the CPU (KACHI_GPU_CHECK_NO_GPU=1 goes on,
  # to try the script's plumbing on a CPU machine).
  nvidia-smi -L 2>/dev/null | grep -q '^GPU ' || { echo "FAIL: no GPU visible (nvidia-smi -L)"; return 1; }
}

# NCCL: the system's, else the nvidia-nccl wheel of the image's python.
nccl_flags() {
  ((dry)) && { echo "[-DNCCL_INCLUDE_DIR=... -DNCCL_LIBRARY=... when /usr/include/nccl.h is missing]"; return; }
  [ -f /usr/include/nccl.h ] && return
  local d
  d=$(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__))' 2>/dev/null) || return
  [ -f "$d/include/nccl.h" ] || return
  echo "-DNCCL_INCLUDE_DIR=$d/include -DNCCL_LIBRARY=$(ls "$d"/lib/libnccl.so* | head -1)"
}
phase_configure() {
  local flags; flags=$(nccl_flags)
  echo "NCCL flags: ${flags:-(system)}"
  # shellcheck disable=SC2086
  lim cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 $flags || return 1
  ((dry)) && [ ! -f "$build/CMakeCache.txt" ] && { problem "$build is not configured"; return 0; }
  if ((dry)) && ! grep -q '^KACHI_WITH_CUDA:BOOL=ON' "$build/CMakeCache.txt"; then
    echo "  note: $build is a CPU-only build: the CUDA-only GPU tests and their targets are not checked"; return 0
  fi
  local count
  count=$(cd "$build" && ctest -N -L gpu | sed -n 's/^Total Tests: //p')
  echo "ctest -L gpu: ${count:-0} tests"
  ((${count:-0} >= 10)) || { ((dry)) && problem "fewer than 10 gpu tests in $build" && return 0
    echo "FAIL: fewer than 10 gpu tests: not a CUDA build (nvcc or NCCL not found?)"; return 1; }
}
# The executables the gpu-labelled tests run (their target names are their file names; scripts are skipped).
gpu_test_targets() {
  (cd "$build" && ctest -N -L gpu --show-only=json-v1) | python3 -c '
import json, os, sys
b = os.path.realpath(sys.argv[1])
names = {os.path.basename(a) for t in json.load(sys.stdin)["tests"] for a in t["command"]
         if a.startswith("/") and os.path.realpath(a).startswith(b + "/") and not a.endswith(".sh")}
print(" ".join(sorted(names)))' "$build"
}
phase_build() {
  local targets="kachi bench_ckpt" t known
  [[ $call == call1 ]] && targets="kachi $(gpu_test_targets)"
  echo "targets: $targets"
  if ((dry)); then
    for t in $targets; do ninja -C "$build" -t query "$t" >/dev/null 2>&1 || problem "no target $t in $build"; done
  fi
  # shellcheck disable=SC2086
  lim cmake --build "$build" -j "$jobs" --target $targets
}
# compare_reference COMMITTED NEW: prints the largest difference between two safetensors files' tensors.
compare_reference() {
  ((dry)) && { echo "  \$ python3 - $1 $2   (max abs difference of every tensor; goal <= 1e-4)"; return; }
  python3 - "$1" "$2" <<'PY'
import sys
from safetensors.numpy import load_file
a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
assert a.keys() == b.keys(), "different tensor names"
worst = max(float(abs(a[k].astype("float64") - b[k].astype("float64")).max()) for k in a)
print(f"kachi_reference name={sys.argv[2].split('/')[-1]} tensors={len(a)} max_abs_diff={worst:g}")
PY
}
phase_reference() {
  local refdir=$repo/tests/data/torch_reference heads name ref
  need_file "$refdir/make_reference.py"
  for heads in 4 1; do
    name=$([[ $heads == 4 ]] && echo gpt2_tiny_reference || echo gpt2_tiny_hs64_reference)
    ref=$refdir/$name.safetensors
    need_file "$ref"
    x cp "$ref" "$out/committed_$name.safetensors"
    lim python3 "$refdir/make_reference.py" --heads $heads --out "$ref" || return 1
    compare_reference "$out/committed_$name.safetensors" "$ref" || return 1
    x rm -f "$out/committed_$name.safetensors"
  done
  ((dry)) && { grep -q -- '"--heads"' "$refdir/make_reference.py" && grep -q -- '"--out"' "$refdir/make_reference.py" ||
    problem "make_reference.py lacks --heads or --out"; }
  true
}
phase_ctest_gpu() {
  x cd "$build"
  lim ctest -L gpu --output-on-failure -j "${KACHI_GPU_CTEST_JOBS:-4}" --timeout 110
  local rc=$?
  x cd "$repo"
  return $rc
}
phase_bench_kernels() { lim "$build/kachi" bench kernels; }
phase_bench_train() {
  local f
  for f in bench_micro_batch bench_profile bench_torch_timeout_s bench_torch_modes; do need_flag $f; done
  need_set model.preset=gpt2_124m; need_set train.seq_len=1024
  lim "$build/kachi" bench train --set model.preset=gpt2_124m --set train.seq_len=1024 --bench_micro_batch=32 \
    --bench_torch_modes=eager,compile --bench_profile --bench_torch_timeout_s=$((PHASE_LIMIT - 60))
}
phase_bench_ckpt() { lim "$build/bench/ckpt/bench_ckpt" /tmp/kachi_ckpt_bench 3; }
phase_lanes_gpu() {
  local dir=/tmp/kachi_lanes_gpu s
  need_file "$repo/configs/lanes_gpu.pbtxt"
  for s in base.data.train=x base.data.val=x base.checkpoint.dir=x; do need_set $s; done
  x rm -rf "$dir"; x mkdir -p "$dir"
  if ((dry)); then echo "  \$ cat README.md bench/RESULTS.md kernels/README.md > $dir/text.txt"
  else cat "$repo"/README.md "$repo"/bench/RESULTS.md "$repo"/kernels/README.md >"$dir/text.txt"; fi
  need_file "$repo/kernels/README.md"
  x "$build/kachi" data --out "$dir/data" "$dir/text.txt" || return 1
  x cd "$dir"
  lim mpirun -np 4 "$build/kachi" lanes "$repo/configs/lanes_gpu.pbtxt" \
    --set base.data.train="$dir/data/train_*.bin" --set base.data.val="$dir/data/val_*.bin" \
    --set base.checkpoint.dir="$dir/run" || return 1
  x cd "$repo"
  ((dry)) || cp "$dir/run/lanes_report.html" "$out/" 2>/dev/null
  true
}
phase_train_1558m_recompute() {
  local f
  for f in bench_micro_batch bench_warmup bench_steps bench_torch; do need_flag $f; done
  need_set model.preset=gpt2_1558m; need_set train.activation_recompute=true
  lim "$build/kachi" bench train --set model.preset=gpt2_1558m --set train.activation_recompute=true \
    --bench_micro_batch=16 --bench_warmup=1 --bench_steps=3 --bench_torch=false
}

v=phases_$call
for p in ${!v}; do
  phase "${p%%:*}" "${p##*:}"
  ((dry)) && continue
  # Nothing after a failed configure or build, or without a GPU, can run (the summary marks the rest not reached).
  if [[ ${p%%:*} == configure || ${p%%:*} == build || (${p%%:*} == env && ${KACHI_GPU_CHECK_NO_GPU:-0} != 1) ]] &&
    [ "$(tail -1 "$out/phases.tsv" | cut -f2)" != 0 ]; then break; fi
done
if ((dry)); then
  total=0
  for p in ${!v}; do total=$((total + ${p##*:})); done
  echo "# time: phases capped at $total s in all, cut to the budget of $budget s (KACHI_GPU_BUDGET_S); then SUMMARY.md"
  echo "  \$ python3 $repo/scripts/gpu_check_summary.py OUT $call > OUT/SUMMARY.md"
  need_file "$repo/scripts/gpu_check_summary.py"
  echo "# dry run of $call: $problems problem(s)"
  ((problems == 0))
  exit
fi
python3 "$repo/scripts/gpu_check_summary.py" "$out" "$call" >"$out/SUMMARY.md"
rc=$?
cat "$out/SUMMARY.md"
exit $rc
