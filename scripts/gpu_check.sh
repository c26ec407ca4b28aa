#!/usr/bin/env bash
# The GPU machine's checks in one go (see ../shared/device/README.md): build with CUDA for Hopper, run the whole
# suite (GPU and NCCL tests run instead of skipping; the Slurm tests are left out: no Slurm there), regenerate the
# PyTorch reference file with torch on that machine and compare it with the committed one, and run
# `kachi bench comm` on the NCCL backend and `kachi bench kernels`. Logs go to $1 (default: ./gpu-logs).
#   bash scripts/gpu_check.sh "$OUT"       (abseil from ../shared/device/prepare-absl.sh in .deps/absl)
# KACHI_GPU_BENCHES picks the benchmarks from "comm kernels ckpt train big lanes" (default "comm kernels ckpt train
# lanes"; "big" trains GPT-2 1.5B on the one card, with and without activation recompute, and reports its peak
# memory; "lanes" runs configs/lanes_gpu.pbtxt: 8 small GPT lanes on 4 ranks sharing the GPU);
# KACHI_GPU_REFERENCE=0 skips the reference, KACHI_GPU_CTEST=0 the test suite. Everything in one call can pass the
# device's 10-minute limit; split it, keeping the build between calls in an ignored folder of the checkout:
#   KACHI_BUILD_DIR=$PWD/build-gpu KACHI_GPU_BENCHES="" bash scripts/gpu_check.sh $OUT          (build, tests)
#   KACHI_BUILD_DIR=$PWD/build-gpu KACHI_GPU_CTEST=0 KACHI_GPU_REFERENCE=0 KACHI_GPU_BENCHES="train kernels" ...
#   KACHI_BUILD_DIR=$PWD/build-gpu KACHI_GPU_CTEST=0 KACHI_GPU_REFERENCE=0 KACHI_GPU_BENCHES="ckpt lanes big" ...
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
logs=$(mkdir -p "${1:-$repo/gpu-logs}" && cd "${1:-$repo/gpu-logs}" && pwd)
build=${KACHI_BUILD_DIR:-/tmp/kachi-gpu-build}
export LD_LIBRARY_PATH=$repo/.deps/absl/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$logs/gpu.txt" 2>&1
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DCMAKE_PREFIX_PATH="$repo/.deps/absl/usr" >"$logs/cmake.txt" 2>&1 || { tail -30 "$logs/cmake.txt"; exit 1; }
cmake --build "$build" >"$logs/build.txt" 2>&1 || { grep -B2 -A8 "error" "$logs/build.txt" | head -60; exit 1; }
echo "build ok"

benches=${KACHI_GPU_BENCHES-comm kernels ckpt train lanes}
# The reference files made here by torch, compared with the committed ones, then used by the suite (the hs64 one
# also by the CUDA kernels in fp32).
refdir=$repo/tests/data/torch_reference
if [[ ${KACHI_GPU_REFERENCE:-1} == 1 ]]; then
: >"$logs/reference.txt"
for heads in 4 1; do
  name=$([[ $heads == 4 ]] && echo gpt2_tiny_reference || echo gpt2_tiny_hs64_reference)
  ref=$refdir/$name.safetensors
  cp "$ref" "$logs/committed_$name.safetensors"
  python3 "$refdir/make_reference.py" --heads $heads --out "$ref" >>"$logs/reference.txt" 2>&1
  python3 - "$logs/committed_$name.safetensors" "$ref" >>"$logs/reference.txt" 2>&1 <<'PY'
import sys
from safetensors.numpy import load_file
a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
assert a.keys() == b.keys(), "different tensor names"
worst = max(float(abs(a[k].astype("float64") - b[k].astype("float64")).max()) for k in a)
print(f"{sys.argv[2]}: committed vs regenerated on this machine: {len(a)} tensors, max |diff| = {worst:g}")
PY
  cp "$ref" "$logs/$name.safetensors"
done
grep "max |diff|" "$logs/reference.txt"
fi

if [[ ${KACHI_GPU_CTEST:-1} == 1 ]]; then
(cd "$build" && ctest --output-on-failure -E slurm ${KACHI_GPU_CTEST_ARGS:-}) >"$logs/ctest.txt" 2>&1
tail -25 "$logs/ctest.txt"
grep -E "Skipped|SKIPPED" "$logs/ctest.txt" | head -20
fi

if [[ " $benches " == *" comm "* ]]; then
timeout 120 "$build/kachi" bench comm --backend=nccl --set bench.comm.min_bytes=1024 \
  --set bench.comm.max_bytes=67108864 --set bench.comm.iters=10 >"$logs/bench_comm_nccl.txt" 2>&1
grep -E "worst|^# kachi" "$logs/bench_comm_nccl.txt"
fi
if [[ " $benches " == *" kernels "* ]]; then
timeout 240 "$build/kachi" bench kernels >"$logs/bench_kernels.txt" 2>&1
echo "bench kernels exit $?"; grep -iE "ceiling|sdpa|fwd\+bwd|forward\+backward" "$logs/bench_kernels.txt" | head -12
fi
if [[ " $benches " == *" ckpt "* ]]; then
  timeout 300 "$build/bench/ckpt/bench_ckpt" /tmp/kachi_ckpt_bench >"$logs/bench_ckpt.txt" 2>&1
  echo "bench_ckpt exit $?"; tail -20 "$logs/bench_ckpt.txt"
fi
if [[ " $benches " == *" train "* ]]; then
  # GPT-2 124M, bf16, micro-batch 32, beside torch eager / torch.compile in the same call.
  timeout 400 "$build/kachi" bench train --bench_profile >"$logs/bench_train.txt" 2>&1
  echo "bench train exit $?"; tail -45 "$logs/bench_train.txt"
fi
if [[ " $benches " == *" big "* ]]; then
  # GPT-2 1.5B (gpt2_1558m) in bf16 on one 80 GB card: activation recompute at micro-batch 16, then without it.
  for recompute in true false; do
    timeout 240 "$build/kachi" bench train --set model.preset=gpt2_1558m --set train.activation_recompute=$recompute \
      --bench_micro_batch=16 --bench_warmup=1 --bench_steps=3 --bench_torch=false \
      >"$logs/bench_train_1558m_recompute_$recompute.txt" 2>&1
    echo "bench train gpt2_1558m recompute=$recompute exit $?"; tail -4 "$logs/bench_train_1558m_recompute_$recompute.txt"
  done
fi
if [[ " $benches " == *" lanes "* ]]; then
  # Issue 6 on the GPU: 8 lanes of small bf16 GPTs on the CUDA kernels, 4 ranks sharing the one GPU.
  lanes_dir=/tmp/kachi_lanes_gpu
  rm -rf "$lanes_dir" && mkdir -p "$lanes_dir"
  cat "$repo"/README.md "$repo"/bench/RESULTS.md "$repo"/kernels/README.md >"$lanes_dir/text.txt"
  "$build/kachi" data --out "$lanes_dir/data" "$lanes_dir/text.txt" >"$logs/lanes_gpu.txt" 2>&1
  (cd "$lanes_dir" && timeout 300 mpirun -np 4 --oversubscribe "$build/kachi" lanes "$repo/configs/lanes_gpu.pbtxt" \
    --set base.data.train="$lanes_dir/data/train_*.bin" --set base.data.val="$lanes_dir/data/val_*.bin" \
    --set base.checkpoint.dir="$lanes_dir/run") >>"$logs/lanes_gpu.txt" 2>&1
  echo "lanes gpu exit $?"; tail -14 "$logs/lanes_gpu.txt"
  cp "$lanes_dir/run/lanes_report.html" "$logs/" 2>/dev/null
fi
