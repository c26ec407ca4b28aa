#!/usr/bin/env bash
# Issue 13 defect 5, late and repeated errors: `kachi train` must refuse bad paths before step 1 with one line
# naming the field (checkpoint.dir naming a file, an unwritable train.save_weights folder, data.train naming a
# folder or matching nothing); under mpirun -np 4 a configuration error is printed once, not once per rank; and
# `kachi ckpt inspect` / `check` exit 3 on a damaged step or a garbage `latest`, 0 on a sound directory.
# Usage: startup_errors_test.sh KACHI MPIRUN
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
kachi=$(readlink -f "$1")
mpirun=$2
export CUDA_VISIBLE_DEVICES=
kachi_temp_base kachi_startup
cd "$base" || exit 1
kachi_word_shards "$kachi" "$base" 3000
cat >run.pbtxt <<CONFIG
model { preset: "tiny" layers: 2 heads: 4 width: 32 vocab_size: 256 context: 32 }
train { seq_len: 32 global_batch: 8 micro_batch: 2 steps: 4 log_every: 1 }
data { train: "$base/data/train_*.bin" }
checkpoint { dir: "$base/ckpt" every: 2 keep_last: 3 }
CONFIG
mkdir ro && touch afile
# Refused before step 1: rc 1, one kachi line naming the field, no step line.
expect_refused() {
  local field=$1
  shift
  timeout 60 "$kachi" train run.pbtxt "$@" >out.txt 2>err.txt
  local rc=$?
  [[ $rc == 1 ]] || fail "$*: exit $rc, expected 1: $(cat err.txt)"
  [[ $(grep -c '^kachi' err.txt) == 1 ]] || fail "$*: not one error line: $(cat err.txt)"
  grep -q "$field" err.txt || fail "$*: the error does not name $field: $(cat err.txt)"
  ! grep -q '^step' out.txt || fail "$*: training started before the error"
}
expect_refused checkpoint.dir --set checkpoint.dir="$base/afile"
expect_refused checkpoint.dir --set checkpoint.dir="$base/afile/sub"
expect_refused train.save_weights --set train.save_weights=/proc/kachi.safetensors
expect_refused train.save_weights --set train.save_weights="$base/missing/w.safetensors"
expect_refused data.train --set data.train="$base/data"
expect_refused data.train --set data.train="$base/nothing_*.bin"

# On 4 ranks a configuration error is printed once (was: once per rank).
if [[ -x $(command -v "$mpirun") ]]; then
  timeout 120 "$mpirun" -np 4 "$kachi" train run.pbtxt --set model.width=-128 >out.txt 2>err.txt
  n=$(grep -c 'model.width = -128' err.txt)
  [[ $n == 1 ]] || fail "np4: the error was printed $n times: $(cat err.txt)"
  # Errors met while reading the config file itself (before MPI starts) too: a syntax error, a missing file, and a
  # lanes file that does not parse.
  printf 'model { layers: 2\n train { steps: x }\n' >bad.pbtxt
  for config in bad.pbtxt missing.pbtxt; do
    timeout 120 "$mpirun" -np 4 "$kachi" train "$config" >out.txt 2>err.txt
    n=$(grep -c '^kachi train' err.txt)
    [[ $n == 1 ]] || fail "np4 $config: the config error was printed $n times: $(cat err.txt)"
  done
  timeout 120 "$mpirun" -np 4 "$kachi" lanes bad.pbtxt >out.txt 2>err.txt
  n=$(grep -c '^kachi lanes' err.txt)
  [[ $n == 1 ]] || fail "np4 lanes bad.pbtxt: the config error was printed $n times: $(cat err.txt)"
fi

# inspect/check: 0 on a sound directory, 3 on a damaged manifest, 3 on a garbage latest.
timeout 120 "$kachi" train run.pbtxt >out.txt 2>&1 || fail "training failed: $(tail -3 out.txt)"
"$kachi" ckpt check ckpt >out.txt 2>&1 || fail "check of a sound directory exits $?: $(cat out.txt)"
cp -r ckpt bad
printf 'garbage\n' >bad/latest
"$kachi" ckpt inspect bad >out.txt 2>&1
[[ $? == 3 ]] && grep -q "latest -> DAMAGED" out.txt || fail "a garbage latest is not flagged: $(cat out.txt)"
cp ckpt/latest bad/latest
printf '\x01' | dd of=bad/step_00000004/manifest.binpb bs=1 seek=20 conv=notrunc status=none
"$kachi" ckpt check bad >out.txt 2>&1
[[ $? == 3 ]] && grep -q "step_00000004  DAMAGED" out.txt || fail "a damaged manifest is not flagged: $(cat out.txt)"
# --resume falls back past the damaged step 4 to step 2, never to step 0.
timeout 120 "$kachi" train run.pbtxt --resume --set checkpoint.dir="$base/bad" --set train.steps=6 >out.txt 2>&1 ||
  fail "resume failed: $(tail -3 out.txt)"
grep -q "resumed from $base/bad/step_00000002 (step 2)" out.txt || fail "no fallback to step 2: $(cat out.txt)"
echo "startup errors: 6 bad paths refused before step 1; np4 printed once (also config file errors); inspect/check exit 3; fallback to step 2"
