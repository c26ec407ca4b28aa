#!/usr/bin/env bash
# scripts/gpu_check.sh --dry-run on this tree: both device calls' commands (ctest -L gpu under KACHI_REQUIRE_GPU=1,
# the torch reference, bench kernels, bench train beside torch, bench_ckpt, lanes, the 1.5B recompute run) exist here
# (targets in BUILD_DIR, kachi flags, --set fields, presets, files) with time caps inside the per-call budget; and
# a dry run against a folder that is no build must report problems and fail.
# Usage: gpu_check_dry_run_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "$1" && pwd); src=$(cd "$2" && pwd)
failed=0
fail() { echo "FAIL: $*"; failed=1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

for call in call1 call2; do
  KACHI_BUILD_DIR=$build bash "$src/scripts/gpu_check.sh" --dry-run $call "$tmp/out" >"$tmp/$call.txt" 2>&1 ||
    fail "dry run of $call found problems"
  cat "$tmp/$call.txt"
  grep -q "^# dry run of $call: 0 problem(s)$" "$tmp/$call.txt" || fail "$call: no '0 problem(s)' line"
  [ ! -e "$tmp/out" ] || fail "$call: a dry run wrote to OUT"
  grep -q ': CUT by the budget' "$tmp/$call.txt" && fail "$call: a phase is cut even before any runs over"
  caps=$(awk '/^== / && $4 == "most" {s += $5} END {print s + 0}' "$tmp/$call.txt")
  [ "${caps:-999}" -le 560 ] || fail "$call: phase caps sum to $caps s, over the 560-s budget"
done
expect() { grep -qF -- "$2" "$tmp/$1.txt" || fail "$1 does not run: $2"; }
if grep -q '^KACHI_WITH_CUDA:BOOL=ON' "$build/CMakeCache.txt"; then
  expect call1 "--target kachi "; expect call1 "cuda_attention_test"; expect call1 "cuda_matmul_test"
  grep -qE '^ctest -L gpu: (1[0-9]|[2-9][0-9]) tests$' "$tmp/call1.txt" || fail "call1: fewer than 10 gpu tests listed"
fi
expect call1 "ctest -L gpu --output-on-failure"; expect call1 "make_reference.py --heads 1"
expect call1 "kachi bench kernels"
expect call2 "kachi bench train --set model.preset=gpt2_124m --set train.seq_len=1024 --bench_micro_batch=32"
expect call2 "--bench_torch_modes=eager\\,compile"; expect call2 "bench/ckpt/bench_ckpt"
expect call2 "mpirun -np 4 $build/kachi lanes $src/configs/lanes_gpu.pbtxt"
expect call2 "--set model.preset=gpt2_1558m --set train.activation_recompute=true"
grep -q "^export KACHI_REQUIRE_GPU=1" "$src/scripts/gpu_check.sh" || fail "gpu_check.sh does not set KACHI_REQUIRE_GPU=1"

# Must be able to fail: no build folder -> problems named, exit 1.
mkdir -p "$tmp/empty"
if KACHI_BUILD_DIR=$tmp/empty bash "$src/scripts/gpu_check.sh" --dry-run call2 >"$tmp/bad.txt" 2>&1; then
  fail "a dry run against an empty folder passed"
fi
grep -q "PROBLEM: .* is not configured" "$tmp/bad.txt" || fail "no 'not configured' problem for an empty folder"
grep -q "PROBLEM: no .*kachi to check" "$tmp/bad.txt" || fail "no missing-kachi problem for an empty folder"
[ $failed = 0 ] && echo "PASSED: gpu_check.sh dry runs of call1 and call2"
exit $failed
