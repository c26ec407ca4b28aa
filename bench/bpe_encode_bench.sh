#!/bin/bash
# Encode throughput of kachi's byte-level BPE (`kachi data --tokenizer`, 1 and 2 threads) against Hugging Face
# `tokenizers` (encode_batch over the text's lines, RAYON_NUM_THREADS 1 and 2; BPE_BENCH_PIECES=mb: ~1 MB pieces) on the same generated text
# (mostly English words, ~5% unicode, digits, punctuation) with the same tokenizer (the vocab-800 BPE of
# tests/data/python/bpe_reference.py). MB = 10^6 bytes of input text; kachi's figure excludes file reading.
# Usage: bench/bpe_encode_bench.sh KACHI [MBYTES=20]   (Python from $KACHI_PYTHON, else python3)
set -eu
KACHI=$1; MB=${2:-20}
PY=${KACHI_PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)
REF=$HERE/../tests/data/python/bpe_reference.py
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
"$PY" "$REF" make "$W" > /dev/null
"$PY" - "$REF" "$W/bench.txt" "$MB" <<'EOP'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("ref", sys.argv[1]); ref = importlib.util.module_from_spec(spec)
sys.argv_saved = sys.argv; spec.loader.exec_module(ref)
text, seed = [], 10
while sum(len(t) for t in text) < int(sys.argv_saved[3]) * 10**6:
    text.append(ref.corpus(seed, 200000)); seed += 1
open(sys.argv_saved[2], "w", encoding="utf-8").write("".join(text))
EOP
echo "text: $(stat -c %s "$W/bench.txt") bytes"
for t in 1 2; do
  rm -rf "$W/out"
  "$KACHI" data --tokenizer "$W/json" --threads $t --val_fraction 0 --out "$W/out" "$W/bench.txt" 2>/dev/null |
    sed -n -e 's/.*\(uint16 shards, .* MB\/s\).*/kachi '"$t"' thread(s): \1/p' -e 's/ *train: /  kachi ids: /p'
  "$PY" "$REF" bench "$W/json/tokenizer.json" "$W/bench.txt" $t
done
