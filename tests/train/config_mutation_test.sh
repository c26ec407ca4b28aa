#!/usr/bin/env bash
# Issue 13 defect 2, bounded inputs: `kachi train` on seeded mutants of a valid tiny config (size fields set to
# negative, zero, huge, INT32 extremes or random values) must each exit non-zero (not 124/134/137/139: no hang,
# abort or crash), within 60 s, with exactly one "kachi" error line on stderr that names the mutated field or the
# memory estimate, and no core dump; the unmutated config must train. Usage: config_mutation_test.sh KACHI [N]
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
kachi=$(readlink -f "$1")
count=${2:-200}
export CUDA_VISIBLE_DEVICES=
kachi_temp_base kachi_cfg_mut
cd "$base" || exit 1
ulimit -c 0
kachi_word_shards "$kachi" "$base" 3000
cat >run.pbtxt <<CONFIG
model { preset: "tiny" layers: 2 heads: 4 width: 32 vocab_size: 256 context: 32 }
parallel { tp: 1 }
train { seq_len: 32 global_batch: 8 micro_batch: 2 steps: 2 log_every: 1 }
data { train: "$base/data/train_*.bin" }
CONFIG
timeout 120 "$kachi" train run.pbtxt >ok.out 2>&1 || fail "the unmutated config does not train: $(tail -5 ok.out)"

# Within the bounds but beyond this host's memory: refused up front with the estimate, not std::bad_alloc.
timeout 60 "$kachi" train run.pbtxt --set model.width=65536 >out.txt 2>err.txt
rc=$?
[[ $rc != 0 && $rc != 134 && $(grep -c '^kachi' err.txt) == 1 ]] && grep -q "needs about .* GiB per rank" err.txt ||
  fail "model.width=65536 (rc $rc) is not refused with a memory estimate: $(cat err.txt)"

# Fields and the values that must be refused (model.* and train.* size fields; 0 is refused where set explicitly).
fields=(model.layers model.heads model.width model.vocab_size model.context train.seq_len train.global_batch
        train.micro_batch)
nonneg=(train.eval_windows train.log_every train.eval_every train.steps model.vocab_multiple)
values=(-1 -128 -2147483648 0 1073741824 2147483647 16777217 33554432)
RANDOM=20261203
refused=0
for ((i = 0; i < count; i++)); do
  if ((RANDOM % 4 == 0)); then
    field=${nonneg[RANDOM % ${#nonneg[@]}]}
    value=$((-1 - RANDOM % 100000))
  else
    field=${fields[RANDOM % ${#fields[@]}]}
    value=${values[RANDOM % ${#values[@]}]}
    ((RANDOM % 3 == 0)) && value=$((-RANDOM * RANDOM))
  fi
  [[ $field == model.* && $value == 0 ]] && value=-2
  timeout 60 "$kachi" train run.pbtxt --set "$field=$value" >out.txt 2>err.txt
  rc=$?
  case $rc in
    0) fail "$field=$value was accepted: $(tail -3 out.txt)" ;;
    124 | 134 | 137 | 139) fail "$field=$value: exit $rc (hang, abort or crash): $(tail -3 err.txt)" ;;
  esac
  lines=$(grep -c '^kachi' err.txt)
  [[ $lines == 1 ]] || fail "$field=$value: $lines kachi lines on stderr, expected 1: $(cat err.txt)"
  grep -q -e "$field" -e "needs about" -e "must be" err.txt || fail "$field=$value: the error names neither the field nor a bound: $(cat err.txt)"
  compgen -G 'core*' >/dev/null && fail "$field=$value left a core dump"
  refused=$((refused + 1))
done
echo "config mutants: $refused of $count refused with one clear line (e.g. $(cat err.txt))"
