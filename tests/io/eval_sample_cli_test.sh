#!/bin/bash
# `kachi eval` and `kachi sample` end to end. A model initialised from a Hugging Face directory (written in Python)
# is trained 4 steps with 4 validation windows; then:
#  - `kachi eval` on its saved weights, its checkpoint directory and its `ckpt export --hf` directory equals the
#    run's reported val_loss (metrics JSON, 6 decimals) within 2e-5 (training averages 2-window batch means, eval
#    per-window losses: fp summation order only);
#  - eval under mpirun -np 2 and -np 3 (5 windows in batches of 2: a short batch and ranks holding 1 or 2 batches;
#    all windows in batches of 8) prints the same loss as -np 1, to every printed digit (each batch's loss is
#    reduced into its own slot, summed in batch order on rank 0); batch 1 and batch 3 agree within 2e-5;
#  - --logits is read back by numpy + safetensors: shapes, and the cross-entropy recomputed = the reported loss;
#  - greedy sampling is deterministic, equals top-k 1, and its first token is the argmax of the eval logits;
#    sampling works on the HF directory (config.json, no kachi metadata);
#  - refusals are one line: missing weights, a tensor shape that disagrees with config.json (named), an empty
#    shard, bad sampling options.
# Usage: eval_sample_cli_test.sh KACHI PYTHON_DIR MPIRUN   (KACHI_PYTHON: a python with numpy and safetensors)
set -u
KACHI=$1; PYDIR=$2; MPIRUN=$3
PYBIN=${KACHI_PYTHON:-python3}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$PYBIN" -c "import numpy, safetensors" || fail "$PYBIN lacks numpy or safetensors (set KACHI_PYTHON)"
mkdir -p "$W/hf" "$W/data"
python3 "$PYDIR/make_hf_dir.py" "$W/hf" 5 || fail "make_hf_dir"
python3 -c "import random; r=random.Random(3); print(''.join(chr(r.randint(97,122)) for _ in range(30000)))" \
  > "$W/text.txt"
"$KACHI" data --out "$W/data" "$W/text.txt" > "$W/data.log" 2>&1 || { cat "$W/data.log"; fail "kachi data"; }
cat > "$W/run.pbtxt" <<EOC
model { preset: "" init_from: "$W/hf" }
train { seq_len: 16 global_batch: 2 micro_batch: 2 steps: 4 eval_every: 4 eval_windows: 4 log_every: 1
        save_weights: "$W/w.safetensors" metrics: "$W/metrics.jsonl" }
data { train: "$W/data/train_*.bin" val: "$W/data/val_*.bin" }
checkpoint { dir: "$W/ckpt" every: 4 async: false }
EOC
"$KACHI" train "$W/run.pbtxt" > "$W/train.log" 2>&1 || { cat "$W/train.log"; fail "train"; }
VAL=$(grep '"val_loss"' "$W/metrics.jsonl" | tail -1 | sed 's/.*"val_loss": \([0-9.]*\).*/\1/')
[[ -n "$VAL" ]] || { cat "$W/metrics.jsonl"; fail "no val_loss in the metrics"; }
"$KACHI" ckpt export "$W/ckpt" --hf "$W/exp" > "$W/exp.log" 2>&1 || { cat "$W/exp.log"; fail "ckpt export --hf"; }
VALDATA="$W/data/val_*.bin"
loss_of() { sed -n 's/.*| loss \([0-9.]*\) | perplexity.*/\1/p' "$1"; }
close() { python3 -c "import sys; a,b,t=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<=t else 1)" "$1" "$2" "$3"; }
for weights in "$W/w.safetensors" "$W/ckpt" "$W/exp"; do
  "$KACHI" eval "$weights" --data "$VALDATA" --windows 4 --seq_len 16 > "$W/e.log" 2>&1 \
    || { cat "$W/e.log"; fail "eval $weights"; }
  L=$(loss_of "$W/e.log")
  close "$L" "$VAL" 2e-5 || { cat "$W/e.log"; fail "eval of $weights: loss $L != training val_loss $VAL"; }
done
grep -q "perplexity" "$W/e.log" || fail "no perplexity printed"
EVAL=("$KACHI" eval "$W/w.safetensors" --data "$VALDATA" --seq_len 16)
"${EVAL[@]}" --windows 7 --batch 1 > "$W/b1.log" 2>&1 || fail "batch 1"
"${EVAL[@]}" --windows 7 --batch 3 > "$W/b3.log" 2>&1 || fail "batch 3"
close "$(loss_of "$W/b1.log")" "$(loss_of "$W/b3.log")" 2e-5 \
  || { cat "$W/b1.log" "$W/b3.log"; fail "batch 1 != batch 3"; }
MPI=("$MPIRUN" --oversubscribe)
for windows in "--windows 5 --batch 2" ""; do
  "${EVAL[@]}" $windows > "$W/np1.log" 2>&1 || { cat "$W/np1.log"; fail "np1"; }
  L1=$(loss_of "$W/np1.log")
  for np in 2 3; do
    "${MPI[@]}" -np $np "$KACHI" eval "$W/w.safetensors" --data "$VALDATA" --seq_len 16 $windows > "$W/np.log" 2>&1 \
      || { cat "$W/np.log"; fail "eval -np $np"; }
    grep -q "over $np rank" "$W/np.log" || { cat "$W/np.log"; fail "-np $np did not run on $np ranks"; }
    [[ "$(loss_of "$W/np.log")" == "$L1" ]] \
      || { cat "$W/np1.log" "$W/np.log"; fail "-np $np loss differs from -np 1 ($windows)"; }
  done
done
"$KACHI" eval "$W/w.safetensors" --data "$VALDATA" --windows 4 --seq_len 16 --logits "$W/logits.safetensors" \
  --logits_windows 0,1,2,3 > "$W/lg.log" 2>&1 || { cat "$W/lg.log"; fail "eval --logits"; }
read -r NEXT PROMPT \
  < <("$PYBIN" "$PYDIR/check_eval_logits.py" "$W/logits.safetensors" "$(loss_of "$W/lg.log")" 4 16 256) \
  || fail "logits check in Python"
[[ -n "$PROMPT" ]] || fail "logits check printed nothing"
sample() { "$KACHI" sample "$1" --sample_prompt_ids "$PROMPT" --sample_tokens 8 --sample_print_ids "${@:2}" 2>&1; }
G1=$(sample "$W/w.safetensors" --sample_temperature 0) || fail "greedy sample: $G1"
G2=$(sample "$W/w.safetensors" --sample_temperature 0 --sample_seed 9) || fail "greedy sample 2: $G2"
K1=$(sample "$W/w.safetensors" --sample_temperature 1 --sample_top_k 1 --sample_seed 4) || fail "top-k 1: $K1"
[[ "$G1" == "$G2" ]] || fail "greedy not deterministic: '$G1' vs '$G2'"
[[ "$G1" == "$K1" ]] || fail "top-k 1 '$K1' != greedy '$G1'"
[[ "${G1%% *}" == "$NEXT" ]] || fail "greedy first token ${G1%% *} != argmax of eval logits $NEXT"
P1=$(sample "$W/w.safetensors" --sample_temperature 0.9 --sample_top_p 0.8 --sample_seed 2) || fail "top-p: $P1"
P2=$(sample "$W/w.safetensors" --sample_temperature 0.9 --sample_top_p 0.8 --sample_seed 2) || fail "top-p: $P2"
[[ "$P1" == "$P2" && $(wc -w <<< "$P1") == 8 ]] || fail "seeded top-p not reproducible: '$P1' '$P2'"
"$KACHI" sample "$W/hf" --sample_temperature 0 --sample_tokens 5 --sample_prompt "ab" > "$W/s.log" 2>&1 \
  || { cat "$W/s.log"; fail "sample on an HF directory"; }
# Refusals: exit 1, one line naming the problem.
refused() {  # $1 = pattern, rest = command
  local pattern=$1; shift
  if "$@" > "$W/r.log" 2>&1; then cat "$W/r.log"; fail "accepted: $*"; fi
  grep -q "$pattern" "$W/r.log" || { cat "$W/r.log"; fail "no '$pattern' in the refusal of: $*"; }
  [[ $(wc -l < "$W/r.log") -le 2 ]] || { cat "$W/r.log"; fail "refusal longer than one line"; }
}
refused "no such file" "$KACHI" eval "$W/missing.safetensors" --data "$VALDATA"
cp -r "$W/exp" "$W/bad"; sed -i 's/"n_positions": *[0-9]*/"n_positions": 40/' "$W/bad/config.json"
refused "wpe.weight" "$KACHI" eval "$W/bad" --data "$VALDATA"
python3 -c "import struct,sys; h=struct.pack('<256i',20240520,1,3,*[0]*253)
open(sys.argv[1],'wb').write(h+struct.pack('<3H',1,2,3))" "$W/empty.bin"   # 3 tokens: no window of 17
refused "no window to evaluate" "$KACHI" eval "$W/w.safetensors" --data "$W/empty.bin"
refused "windows" "$KACHI" eval "$W/w.safetensors" --data "$VALDATA" --windows 100000
refused "top_p" "$KACHI" sample "$W/w.safetensors" --sample_top_p 0
echo "eval_sample_cli_test: ok"
