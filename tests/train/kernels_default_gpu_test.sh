#!/usr/bin/env bash
# Issue 16 item 5, GPU side: with train.kernels unset and a GPU bound, `kachi train` runs kachi's CUDA kernels
# (head size 64) and says so in its start line; a head size the CUDA kernels do not take falls back to the CPU
# kernels with the reason. Skipped (exit 77) without a GPU or in a CPU-only build.
# Usage: kernels_default_gpu_test.sh KACHI CUDA_BUILD(1|0)
set -uo pipefail
. "$(dirname "$0")/../gpu_skip.sh"
kachi=$(readlink -f "$1")
kachi_skip_without_gpu
if [[ $2 != 1 ]]; then
  if [[ ${KACHI_REQUIRE_GPU:-0} != 0 ]]; then
    echo "FAIL: KACHI_REQUIRE_GPU set but kachi is a CPU-only build"
    exit 1
  fi
  echo "SKIPPED: CPU-only build (no CUDA kernels to default to)"; exit 77
fi
base=$(mktemp -d /tmp/kachi_kernels_gpu_XXXXXX)
trap 'rm -rf "$base"' EXIT
cd "$base" || exit 1
fail() { echo "FAIL: $*" >&2; exit 1; }
for _ in $(seq 2000); do printf '%s ' "w$((RANDOM % 20))"; done >text.txt
"$kachi" data --out data text.txt >/dev/null || fail "kachi data failed"
cat >run.pbtxt <<CONFIG
model { preset: "tiny" layers: 1 heads: 2 width: 128 vocab_size: 256 context: 64 }
train { seq_len: 64 global_batch: 4 micro_batch: 4 steps: 3 log_every: 1 }
data { train: "$base/data/train_*.bin" }
CONFIG
timeout 300 "$kachi" train run.pbtxt >out.txt 2>&1 || fail "training failed: $(tail -3 out.txt)"
cat out.txt
grep -q '^kachi train: .*| kernels cuda (train.kernels unset: GPU bound on every rank)$' out.txt ||
  fail "the start line does not say 'kernels cuda (train.kernels unset: ...)'"
grep -q '^step     3/3' out.txt || fail "training did not reach step 3"
timeout 300 "$kachi" train run.pbtxt --set model.heads=4 >out.txt 2>&1 || fail "head size 32: $(tail -3 out.txt)"
grep -q '| kernels cpu (train.kernels unset: GPU bound, but head size 32 (the CUDA kernels need 64))$' out.txt ||
  fail "head size 32: $(grep '^kachi train' out.txt)"
echo "PASS"
