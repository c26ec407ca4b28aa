#!/bin/bash
# Byte-level BPE against Hugging Face `tokenizers` (Python from $KACHI_PYTHON, else python3; exit 77 = Skipped
# when it lacks `tokenizers` or numpy). A small GPT-2 style BPE (vocab 800, <|endoftext|>) is trained here; kachi's
# ids on held-out cases (unicode, whitespace runs, digits, contractions, special tokens mid-text) must equal
# tokenizers' for tokenizer.json and for vocab.json + merges.txt, decode(encode(x)) == x, and `kachi data
# --tokenizer` (2 threads, 4 KiB chunks) must write exactly tokenizers' ids. Mode "train" also trains 3 steps on
# the BPE shards with model vocab_size 800 and samples from the result through the tokenizer (`kachi sample
# --sample_tokenizer`): greedy text equals tokenizers' decoding of the same sample's ids.
# Usage: bpe_parity_test.sh KACHI BPE_ENCODE_TOOL PYTHON_DIR [train]
set -u
KACHI=$1; TOOL=$2; PY_DIR=$3; MODE=${4:-parity}
PY=${KACHI_PYTHON:-python3}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$PY" -c "import tokenizers, numpy" 2>/dev/null || { echo "SKIP: $PY lacks tokenizers or numpy (pip install tokenizers numpy, or set KACHI_PYTHON)"; exit 77; }
"$PY" "$PY_DIR/bpe_reference.py" make "$W" || fail "training the reference tokenizer"
if [ "$MODE" = parity ]; then
  "$TOOL" "$W/json" json "$W"/cases/*.txt || fail "kachi encode/decode with tokenizer.json"
  "$TOOL" "$W/vm" vm "$W"/cases/*.txt || fail "kachi encode/decode with vocab.json + merges.txt"
  "$KACHI" data --tokenizer "$W/json" --val_fraction 0 --threads 2 --chunk_bytes 4096 --shard_tokens 40000 \
    --out "$W/shards" "$W/heldout.txt" > "$W/data.log" 2>&1 || { cat "$W/data.log"; fail "kachi data --tokenizer"; }
  cat "$W/data.log"
  grep -q "BPE tokenizer .*vocab 800, uint16 shards, 2 thread" "$W/data.log" || fail "summary line"
  "$PY" "$PY_DIR/bpe_reference.py" check "$W" || fail "ids differ from tokenizers"
  echo "bpe_parity_test: ok"
  exit 0
fi
# train: BPE shards feed `kachi train` with the tokenizer's vocabulary size.
"$KACHI" data --tokenizer "$W/vm" --out "$W/data" "$W/heldout.txt" > "$W/data.log" 2>&1 || { cat "$W/data.log"; fail "kachi data"; }
cat > "$W/run.pbtxt" <<EOC
model { preset: "tiny" layers: 2 heads: 2 width: 32 vocab_size: 800 context: 32 }
train { seq_len: 32 global_batch: 2 micro_batch: 2 steps: 3 eval_every: 3 eval_windows: 2 log_every: 1
        save_weights: "$W/weights.safetensors" }
data { train: "$W/data/train_*.bin" val: "$W/data/val_*.bin" }
checkpoint { dir: "$W/ckpt" every: 0 async: false }
EOC
"$KACHI" train "$W/run.pbtxt" > "$W/train.log" 2>&1 || { cat "$W/train.log"; fail "kachi train on BPE shards"; }
tail -5 "$W/train.log"
grep -qE "step +3/3 \| val loss" "$W/train.log" || fail "no val loss at step 3 in the training log"
# Sampling through the tokenizer: the prompt is encoded by it, the greedy sample decoded by it; the ids of the same
# sample (--sample_print_ids) decoded by tokenizers give the same text.
sample=("$KACHI" sample "$W/weights.safetensors" --sample_tokenizer "$W/json" --sample_temperature 0
        --sample_tokens 24 --sample_prompt "The quick brown fox")
"${sample[@]}" > "$W/sample.txt" 2> "$W/sample.err" || { cat "$W/sample.err"; fail "kachi sample --sample_tokenizer"; }
"${sample[@]}" --sample_print_ids > "$W/sample.ids" 2> "$W/sample.err" || { cat "$W/sample.err"; fail "sample ids"; }
cat "$W/sample.txt"
"$PY" - "$W" <<'EOP' || fail "kachi's decoded sample differs from tokenizers' decoding of its ids"
import sys
from tokenizers import Tokenizer
d = sys.argv[1]
tok = Tokenizer.from_file(d + "/json/tokenizer.json")
ids = [int(x) for x in open(d + "/sample.ids").read().split()]
assert len(ids) == 24, ids
text = open(d + "/sample.txt", "rb").read().decode("utf-8", errors="replace").rstrip("\n")
want = "The quick brown fox" + tok.decode(ids, skip_special_tokens=False)
print("sample ids", ids[:8], "...; equal:", text == want)
sys.exit(0 if text == want else 1)
EOP
# A model too small for the tokenizer is refused (tokens >= vocab_size are caught).
sed -i 's/vocab_size: 800/vocab_size: 256/' "$W/run.pbtxt"
if "$KACHI" train "$W/run.pbtxt" > "$W/small.log" 2>&1; then cat "$W/small.log"; fail "vocab_size 256 accepted BPE shards"; fi
grep -q "is >= the vocab size 256" "$W/small.log" || { cat "$W/small.log"; fail "refusal does not name the vocab size"; }
echo "bpe_train_test: ok"
