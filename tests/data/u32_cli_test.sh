#!/bin/bash
# `kachi train` and `kachi eval` on llm.c's uint32 token shards, end to end. Fresh random bytes go through `kachi
# data` (uint16 shards: several train and val shards); widen_shard_tool rewrites them as uint32 shards (all of them,
# and every other one: mixed widths in one glob). Then:
#  - 4 training steps on the uint32 and on the mixed shards give the uint16 run's losses (metrics, every printed
#    digit), val loss and saved weights (byte-identical file);
#  - `kachi eval` on uint32 and mixed val shards = eval on the uint16 ones: same loss line, byte-identical --logits
#    file (fp32 logits of 2 windows and the loss at 9 digits);
#  - ids shifted by 65,500 (65,500..65,755, above uint16) train with model vocab_size 65,756 and evaluate;
#    vocab_size 65,700 is refused by `kachi train` and `kachi eval` naming the shard, token, position, byte offset.
# Usage: u32_cli_test.sh KACHI WIDEN_SHARD_TOOL   (KACHI_U32_TEXT=FILE: that input instead of fresh random bytes)
set -u
KACHI=$1; WIDEN=$2
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
# The random input is kept on failure (KEEP), so that a failed run can be repeated on the same bytes.
fail() { echo "FAIL: $*"; KEEP=$(mktemp /tmp/u32_cli_test_text.XXXXXX); cp "$W/text.bin" "$KEEP"; echo "input kept: $KEEP"; exit 1; }
if [[ -n "${KACHI_U32_TEXT:-}" ]]; then cp "$KACHI_U32_TEXT" "$W/text.bin"; else head -c 40000 /dev/urandom > "$W/text.bin"; fi
"$KACHI" data --out "$W/u16" --shard_tokens 7000 --val_fraction 0.2 "$W/text.bin" > "$W/data.log" 2>&1 \
  || { cat "$W/data.log"; fail "kachi data"; }
mkdir -p "$W/u32" "$W/mix" "$W/wide"
i=0
for f in "$W"/u16/*.bin; do
  name=$(basename "$f")
  "$WIDEN" "$f" "$W/u32/$name" || fail "widen $name"
  "$WIDEN" "$f" "$W/wide/$name" 65500 || fail "widen $name by 65500"
  if (( i % 2 )); then cp "$W/u32/$name" "$W/mix/$name"; else cp "$f" "$W/mix/$name"; fi
  i=$((i + 1))
done
shards=$(ls "$W"/u16/*.bin | wc -l)
(( shards >= 4 )) || fail "expected several shards, got $shards"
magic() { od -An -t d4 -N 4 "$1" | tr -d ' '; }
[[ $(magic "$W/u32/train_000000.bin") == 20240801 && $(magic "$W/mix/train_000000.bin") == 20240520 &&
   $(magic "$W/mix/train_000001.bin") == 20240801 ]] || fail "shard widths are not as intended"

config() {  # config DIR VOCAB OUT_PREFIX
  cat > "$3.pbtxt" <<EOC
model { preset: "tiny" layers: 2 heads: 2 width: 32 vocab_size: $2 context: 32 }
train { seq_len: 32 global_batch: 4 micro_batch: 2 steps: 4 eval_every: 4 eval_windows: 4 log_every: 1
        save_weights: "$3.safetensors" metrics: "$3.jsonl" kernels: "cpu" }
data { train: "$1/train_*.bin" val: "$1/val_*.bin" }
checkpoint { dir: "$3.ckpt" every: 0 async: false }
EOC
}
losses() { sed -e 's/, "ms".*//' "$1"; }  # step, loss, lr, grad_norm (and val_loss lines); not the timings
for kind in u16 u32 mix; do
  config "$W/$kind" 256 "$W/run_$kind"
  "$KACHI" train "$W/run_$kind.pbtxt" > "$W/train_$kind.log" 2>&1 || { cat "$W/train_$kind.log"; fail "train on $kind"; }
done
grep -q '"val_loss"' "$W/run_u16.jsonl" || fail "no val_loss in the metrics"
for kind in u32 mix; do
  diff <(losses "$W/run_u16.jsonl") <(losses "$W/run_$kind.jsonl") || fail "$kind losses differ from uint16"
  cmp "$W/run_u16.safetensors" "$W/run_$kind.safetensors" || fail "$kind weights differ from uint16"
done
losses "$W/run_u16.jsonl"

evaluate() {  # evaluate WEIGHTS DIR OUT
  "$KACHI" eval "$1" --data "$2/val_*.bin" --seq_len 32 --logits "$3.safetensors" --logits_windows 0,1 > "$3.log" 2>&1
}
for kind in u16 u32 mix; do
  evaluate "$W/run_u16.safetensors" "$W/$kind" "$W/eval_$kind" || { cat "$W/eval_$kind.log"; fail "eval on $kind"; }
done
cat "$W/eval_u16.log"
for kind in u32 mix; do
  diff <(grep "| loss" "$W/eval_u16.log") <(grep "| loss" "$W/eval_$kind.log") || fail "eval on $kind differs"
  cmp "$W/eval_u16.safetensors" "$W/eval_$kind.safetensors" || fail "eval logits on $kind differ"
done

# Ids above 65,535: vocab_size 65,756 trains and evaluates; 65,700 is refused by name.
config "$W/wide" 65756 "$W/run_wide"
"$KACHI" train "$W/run_wide.pbtxt" > "$W/train_wide.log" 2>&1 || { cat "$W/train_wide.log"; fail "train on ids > 65535"; }
grep -qE "step +4/4 \| val loss" "$W/train_wide.log" || { cat "$W/train_wide.log"; fail "no val loss at step 4"; }
tail -2 "$W/train_wide.log"
"$KACHI" eval "$W/run_wide.safetensors" --data "$W/wide/val_*.bin" --seq_len 32 > "$W/eval_wide.log" 2>&1 \
  || { cat "$W/eval_wide.log"; fail "eval on ids > 65535"; }
cat "$W/eval_wide.log"
config "$W/wide" 65700 "$W/run_small"
if "$KACHI" train "$W/run_small.pbtxt" > "$W/small.log" 2>&1; then cat "$W/small.log"; fail "vocab 65700 accepted"; fi
grep -qE "token shard $W/wide/train_[0-9]+\.bin: token 657[0-9][0-9] at position [0-9]+ \(byte offset [0-9]+\) is >= the vocab size 65700" \
  "$W/small.log" || { cat "$W/small.log"; fail "train refusal does not name shard, token, position, offset"; }
grep "vocab size 65700" "$W/small.log" | head -1
"$KACHI" eval "$W/run_u16.safetensors" --data "$W/wide/val_*.bin" --seq_len 32 > "$W/eval_small.log" 2>&1 \
  && { cat "$W/eval_small.log"; fail "eval with vocab 256 accepted ids > 65535"; }
grep -qE "token shard $W/wide/val_[0-9]+\.bin: token 65[0-9]+ at position 0 \(byte offset 1024\) is >= the vocab size 256" \
  "$W/eval_small.log" || { cat "$W/eval_small.log"; fail "eval refusal does not name shard, token, position, offset"; }
echo "u32_cli_test: ok"
