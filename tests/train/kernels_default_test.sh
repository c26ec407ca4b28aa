#!/usr/bin/env bash
# Issue 16 item 5: which kernels `kachi train` runs with train.kernels unset, said in its start line with the reason.
#  - cpu mode: no GPU bound (the GPU hidden, so this holds on a GPU machine too): the CPU kernels; an explicit
#    train.kernels is printed as given, without the "unset" note, and an explicit "cuda" is refused.
#  - gpu mode: a GPU bound, head size 64: kachi's CUDA kernels; a head size the CUDA kernels do not take (32) falls
#    back to the CPU kernels with the reason (run through kernels_default_gpu_test.sh, which skips without a GPU).
# Usage: kernels_default_test.sh KACHI [cpu|gpu]
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
kachi=$(readlink -f "$1")
mode=${2:-cpu}
if [[ $mode == gpu ]]; then
  heads=2 width=128 context=64 batch=4 steps=3 limit=300
else
  export CUDA_VISIBLE_DEVICES=
  heads=1 width=64 context=16 batch=2 steps=2 limit=120
fi
kachi_temp_base "kachi_kernels_$mode"
cd "$base" || exit 1
kachi_word_shards "$kachi" "$base" 2000 20
cat >run.pbtxt <<CONFIG
model { preset: "tiny" layers: 1 heads: $heads width: $width vocab_size: 256 context: $context }
train { seq_len: $context global_batch: $batch micro_batch: $batch steps: $steps log_every: 1 }
data { train: "$base/data/train_*.bin" }
CONFIG
timeout $limit "$kachi" train run.pbtxt >out.txt 2>&1 || fail "training failed: $(tail -3 out.txt)"
cat out.txt
grep -q "^step     $steps/$steps" out.txt || fail "training did not reach step $steps"

if [[ $mode == gpu ]]; then
  grep -q '^kachi train: .*| kernels cuda (train.kernels unset: GPU bound on every rank)$' out.txt ||
    fail "the start line does not say 'kernels cuda (train.kernels unset: ...)'"
  timeout 300 "$kachi" train run.pbtxt --set model.heads=4 >out.txt 2>&1 || fail "head size 32: $(tail -3 out.txt)"
  grep -q '| kernels cpu (train.kernels unset: GPU bound, but head size 32 (the CUDA kernels need 64))$' out.txt ||
    fail "head size 32: $(grep '^kachi train' out.txt)"
  echo "PASS"
  exit 0
fi
grep -q '^kachi train: .*| kernels cpu (train.kernels unset: no GPU bound on every rank)$' out.txt ||
  fail "the start line does not say 'kernels cpu (train.kernels unset: no GPU bound ...)'"
timeout 120 "$kachi" train run.pbtxt --set train.kernels=cpu >out.txt 2>&1 || fail "training failed: $(tail -3 out.txt)"
grep -q '^kachi train: .*| kernels cpu$' out.txt || fail "explicit kernels: $(grep '^kachi train' out.txt)"
# An explicit "cuda" without a GPU bound (hidden above) is refused with the existing clear error, not run on the CPU.
timeout 120 "$kachi" train run.pbtxt --set train.kernels=cuda >out.txt 2>&1 &&
  fail "train.kernels=cuda without a GPU was accepted"
grep -q 'train.kernels = "cuda" but this rank has no GPU bound' out.txt || fail "explicit cuda error: $(tail -2 out.txt)"
echo "PASS"
