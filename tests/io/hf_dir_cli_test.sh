#!/bin/bash
# Hugging Face model directories end to end (no torch needed): a GPT2LMHeadModel-style directory written in Python
# (config.json + `transformer.`-prefixed model.safetensors) is imported by `kachi train` with no sizes in the model
# section, trained 3 steps and saved to a directory, which Python checks for from_pretrained's names, shapes and
# config fields; `kachi ckpt export --hf` writes the same from the step-3 checkpoint. Refusals: an untied lm_head, a model section that disagrees with config.json.
# Usage: hf_dir_cli_test.sh KACHI PYTHON_DIR
set -u
KACHI=$1; PY=$2
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$W/hf" "$W/bad" "$W/data"
python3 "$PY/make_hf_dir.py" "$W/hf" 7 || fail "make_hf_dir"
python3 "$PY/make_hf_dir.py" "$W/bad" 7 untied || fail "make_hf_dir untied"
python3 -c "import random; r=random.Random(1); print(''.join(chr(r.randint(32,126)) for _ in range(40000)))" > "$W/text.txt"
"$KACHI" data --out "$W/data" "$W/text.txt" > "$W/data.log" 2>&1 || { cat "$W/data.log"; fail "kachi data"; }
write_config() {  # $1 = init_from, $2 = extra model fields, $3 = save_weights
  cat > "$W/run.pbtxt" <<EOC
model { preset: "" init_from: "$1" $2 }
train { seq_len: 16 global_batch: 2 micro_batch: 2 steps: 3 eval_every: 3 eval_windows: 2 log_every: 1
        save_weights: "$3" }
data { train: "$W/data/train_*.bin" val: "$W/data/val_*.bin" }
checkpoint { dir: "$W/ckpt" every: 3 async: false }
EOC
}
write_config "$W/hf" "" "$W/out/"
"$KACHI" train "$W/run.pbtxt" > "$W/train.log" 2>&1 || { cat "$W/train.log"; fail "train from the HF directory"; }
grep -q "initial weights from $W/hf" "$W/train.log" || { cat "$W/train.log"; fail "no 'initial weights' line"; }
python3 "$PY/check_hf_dir.py" "$W/out" 2 2 16 256 32 || fail "exported directory"
"$KACHI" ckpt export "$W/ckpt" --hf "$W/exp" > "$W/exp.log" 2>&1 || { cat "$W/exp.log"; fail "ckpt export --hf"; }
python3 "$PY/check_hf_dir.py" "$W/exp" 2 2 16 256 32 || fail "ckpt export --hf directory"
write_config "$W/out" "" ""   # kachi's own directory (bare names) loads back
"$KACHI" train "$W/run.pbtxt" > "$W/back.log" 2>&1 || { cat "$W/back.log"; fail "train from the exported directory"; }
write_config "$W/bad" "" ""
if "$KACHI" train "$W/run.pbtxt" > "$W/bad.log" 2>&1; then fail "untied lm_head accepted"; fi
grep -q 'lm_head.weight.*differs' "$W/bad.log" || { cat "$W/bad.log"; fail "untied refusal does not name lm_head"; }
write_config "$W/hf" "width: 32" ""
if "$KACHI" train "$W/run.pbtxt" > "$W/mis.log" 2>&1; then fail "width mismatch accepted"; fi
grep -q 'model.width = 32 but .*config.json says 16' "$W/mis.log" || { cat "$W/mis.log"; fail "mismatch message"; }
echo "hf_dir_cli_test: ok"
