#!/usr/bin/env bash
# `mpirun -np 2 kachi train --timeline FILE` (tiny model, dp 2, checkpoints every 2 steps, random token shards from
# `kachi data`): the file loads as a Chrome trace with both ranks and events of every category (compute, comm with
# bytes, optimizer, data, checkpoint) inside steps (scaling_trace_check.py). Usage: MPIRUN KACHI SOURCE_DIR
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
mpirun=$1
kachi=$2
source_dir=$3
kachi_temp_base kachi_scaling_timeline
head -c 200000 /dev/urandom | base64 >"$base/text.txt"
"$kachi" data --out "$base/data" "$base/text.txt" >"$base/data.log" 2>&1 || { cat "$base/data.log"; fail "kachi data"; }
"$mpirun" -np 2 "$kachi" train --set model.preset=tiny --set train.seq_len=32 --set train.global_batch=4 \
  --set train.micro_batch=2 --set train.steps=4 --set train.log_every=0 --set "data.train=$base/data/train_*.bin" \
  --set checkpoint.dir="$base/ckpt" --set checkpoint.every=2 --timeline "$base/trace.json" >"$base/train.log" 2>&1 ||
  { cat "$base/train.log"; fail "kachi train --timeline"; }
grep -q "timeline written to $base/trace.json" "$base/train.log" || { cat "$base/train.log"; fail "no timeline line"; }
python3 "$source_dir/tests/bench/scaling_trace_check.py" "$base/trace.json" 2 --category checkpoint ||
  fail "the timeline is not a valid trace with every category"
# A collective's bytes: dp 2 all-reduces the tiny model's gradients (fp32) in one bucket.
python3 - "$base/trace.json" <<'PY' || exit 1
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
grads = [e for e in events if e.get("name") == "all_reduce" and e["args"]["comm"].endswith("/dp") and e["args"]["bytes"] > 1024]
if not grads:
    sys.exit("FAIL: no gradient all-reduce on the dp communicator")
print(f"gradient all-reduce: {grads[0]['args']['bytes']} bytes on {grads[0]['args']['comm']}")
PY
echo "kachi train --timeline writes a loadable per-rank Chrome trace"
