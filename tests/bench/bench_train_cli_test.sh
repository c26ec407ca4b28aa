#!/bin/sh
# `kachi bench train` on CPU (GPU hidden) with the tiny model and 2 timed steps: exit 0, the table with kachi's row
# and its machine line (positive ms/step and tokens/s, FLOPs/token of the tiny model at T=32), and the torch peer
# skipped with a message: here because python has no torch or sees no GPU, then because the interpreter does not
# exist (KACHI_PYTHON), then because --bench_torch=false. --bench_profile adds the op table (a matmul row with its
# call count, shares that add up). A positional argument is a usage error (exit 2).
# Usage: bench_train_cli_test.sh KACHI
set -u
kachi=$1
failed=0
fail() { echo "FAIL: $*"; failed=1; }
# run TEXT ARGS...: kachi bench train ARGS with the GPU hidden; expects exit 0, kachi's row, and TEXT.
run() {
  text=$1; shift
  out=$(CUDA_VISIBLE_DEVICES= "$kachi" bench train --set model.preset=tiny --set train.seq_len=32 \
        --bench_micro_batch=2 --bench_warmup=1 --bench_steps=2 "$@" 2>&1)
  got=$?
  echo "\$ kachi bench train ... $* -> exit $got"; echo "$out"
  [ "$got" -eq 0 ] || fail "exit $got, expected 0"
  case $out in *"$text"*) ;; *) fail "missing '$text'" ;; esac
  case $out in *"# runner"*"kachi "*"fp32"*"2 x 32"*) ;; *) fail "no table row for kachi" ;; esac
  line=$(echo "$out" | grep '^kachi_bench_train runner=kachi ')
  [ -n "$line" ] || fail "no kachi machine line"
  # The tiny model (2 layers, 64 wide, vocabulary 256, context 64) at T = 32: 6 x 116,480 + 12 x 2 x 64 x 32.
  case $line in *" flops_per_token=748032 "*) ;; *) fail "flops_per_token of the tiny model at T=32 is 748032: $line" ;; esac
  echo "$line" | awk '{for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    exit !(v["ms_per_step"] > 0 && v["tokens_per_s"] > 0 && v["batch"] == 2 && v["seq_len"] == 32 &&
           v["steps"] == 2 && v["first_loss"] > 4 && v["peak_mem_bytes"] == -1)}' ||
    fail "implausible kachi line: $line"
}
run "# torch peer skipped: "
KACHI_PYTHON=/nonexistent/python3 run "# torch peer skipped: cannot run '/nonexistent/python3'"
run "# torch peer skipped: not run (--bench_torch=false)" --bench_torch=false
run "# op profile: one step of" --bench_torch=false --bench_profile
# The tiny model's matmuls per step: qkv, attention projection, MLP projection per layer (2) plus the LM head; the
# ops' shares and '(outside the ops)' add up to 100%.
case $out in *"# MatmulForward "*" 7 "*) ;; *) fail "no MatmulForward row with 7 calls in the profile" ;; esac
echo "$out" | awk '/^# op profile/ {on = 1; next} on && /^# / && $NF ~ /%$/ {sub("%", "", $NF); total += $NF}
  END {exit !(total > 99 && total < 101)}' || fail "profile shares do not add up to 100%"
out=$(CUDA_VISIBLE_DEVICES= "$kachi" bench train extra 2>&1)
got=$?
echo "\$ kachi bench train extra -> exit $got"; echo "$out"
[ "$got" -eq 2 ] || fail "positional argument: exit $got, expected 2"
case $out in *"takes no positional arguments"*) ;; *) fail "no usage message for a positional argument" ;; esac
[ "$failed" = 0 ] && echo "PASS"
exit $failed
