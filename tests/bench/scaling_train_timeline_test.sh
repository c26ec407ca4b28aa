#!/usr/bin/env bash
# `mpirun -np 2 kachi train --timeline FILE` (tiny model, dp 2, checkpoints every 2 steps, random token shards from
# `kachi data`): the file loads as a Chrome trace with both ranks and events of every category (compute, comm with
# bytes, optimizer, data, checkpoint) inside steps (scaling_trace_check.py). Usage: MPIRUN KACHI SOURCE_DIR
set -u
mpirun=$1
kachi=$2
source_dir=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c 200000 /dev/urandom | base64 >"$work/text.txt"
"$kachi" data --out "$work/data" "$work/text.txt" >"$work/data.log" 2>&1 ||
  { echo "FAIL: kachi data:"; cat "$work/data.log"; exit 1; }
"$mpirun" -np 2 "$kachi" train --set model.preset=tiny --set train.seq_len=32 --set train.global_batch=4 \
  --set train.micro_batch=2 --set train.steps=4 --set train.log_every=0 --set "data.train=$work/data/train_*.bin" \
  --set checkpoint.dir="$work/ckpt" --set checkpoint.every=2 --timeline "$work/trace.json" >"$work/train.log" 2>&1 ||
  { echo "FAIL: kachi train --timeline:"; cat "$work/train.log"; exit 1; }
grep -q "timeline written to $work/trace.json" "$work/train.log" || { echo "FAIL: no timeline line"; cat "$work/train.log"; exit 1; }
python3 "$source_dir/tests/bench/scaling_trace_check.py" "$work/trace.json" 2 --category checkpoint ||
  { echo "FAIL: the timeline is not a valid trace with every category"; exit 1; }
# A collective's bytes: dp 2 all-reduces the tiny model's gradients (fp32) in one bucket.
python3 - "$work/trace.json" <<'PY' || exit 1
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
grads = [e for e in events if e.get("name") == "all_reduce" and e["args"]["comm"].endswith("/dp") and e["args"]["bytes"] > 1024]
if not grads:
    sys.exit("FAIL: no gradient all-reduce on the dp communicator")
print(f"gradient all-reduce: {grads[0]['args']['bytes']} bytes on {grads[0]['args']['comm']}")
PY
echo "kachi train --timeline writes a loadable per-rank Chrome trace"
