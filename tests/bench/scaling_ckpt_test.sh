#!/usr/bin/env bash
# The checkpoint-stall column of `kachi bench scaling` (mpirun -np 2, tiny model, weak dp at 1 and 2 ranks, 1 warmup
# + 3 timed steps), run twice:
#   with checkpoints (`checkpoint.dir`, `checkpoint.every=1`: a save after every step, so every timed step stalls):
#     every point's checkpoint_ms (JSON lines) is > 0, its table column is present and the parts add up to the
#     step, each point wrote its checkpoints under dir/<ranks>r_<layout>_<mode>, and the timeline has
#     checkpoint_stall events;
#   without (no checkpoint.dir): every point's checkpoint_ms is exactly 0, no checkpoint_stall event.
# A benchmark that dropped the stall, booked it elsewhere or invented one fails. Usage: MPIRUN KACHI
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
mpirun=$1
kachi=$2
kachi_temp_base kachi_scaling_ckpt
# Ranks oversubscribe the cores of a CI box: blocked ranks yield the CPU instead of spinning.
export OMPI_MCA_mpi_yield_when_idle=1

run() {  # run NAME [--set ...]: the benchmark into $base/NAME.{txt,jsonl,trace.json}
  local name=$1
  shift
  "$mpirun" -np 2 "$kachi" bench scaling --set model.preset=tiny --set train.seq_len=32 --set train.micro_batch=2 \
    "$@" \
    --bench_scaling="ranks: 1 ranks: 2 layouts: \"dp\" modes: \"weak\" warmup_steps: 1 timed_steps: 3 sweep_iters: 2 sweep_max_bytes: 65536 jsonl: \"$base/$name.jsonl\"" \
    --timeline "$base/$name.trace.json" >"$base/$name.txt" 2>&1
  local rc=$?
  cat "$base/$name.txt"
  [[ $rc -eq 0 ]] || fail "kachi bench scaling ($name) exited $rc"
}
run ckpt --set checkpoint.dir="$base/ckpt" --set checkpoint.every=1
run plain

python3 - "$base" <<'PY' || exit 1
import json, os, sys
work = sys.argv[1]

def points(name):
    text = open(f"{work}/{name}.txt").read().splitlines()
    header = next((l for l in text if l.startswith("# mode")), None)
    if header is None or header.split()[13] != "ckpt":
        sys.exit(f"FAIL ({name}): no ckpt column in the table header: {header}")
    rows = [l.split() for l in text if l.startswith("weak ")]
    if sorted(int(r[2]) for r in rows) != [1, 2]:
        sys.exit(f"FAIL ({name}): table rows {rows}, expected weak at 1 and 2 ranks")
    for r in rows:
        step, parts = float(r[7]), [float(x) for x in r[8:13]]
        if not step > 0 or abs(sum(parts) - step) > 0.02 + 0.01 * step:
            sys.exit(f"FAIL ({name}): step {step} ms and its parts {parts} do not add up: {r}")
    recs = [json.loads(l) for l in open(f"{work}/{name}.jsonl")]
    pts = [r for r in recs if r["record"] == "point"]
    if len(pts) != 2 or any("checkpoint_ms" not in p for p in pts):
        sys.exit(f"FAIL ({name}): point records without checkpoint_ms: {pts}")
    trace = json.load(open(f"{work}/{name}.trace.json"))
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    stalls = sum(1 for e in events if e.get("name") == "checkpoint_stall")
    return pts, stalls

with_ckpt, stalls = points("ckpt")
for p in with_ckpt:
    if not p["checkpoint_ms"] > 0:
        sys.exit(f"FAIL: a checkpoint was saved after every timed step, but the stall is {p['checkpoint_ms']} ms: {p}")
# Each point saves after each of its 4 steps on each of its ranks (1 + 2 ranks).
if stalls < 4 * 3:
    sys.exit(f"FAIL: {stalls} checkpoint_stall events in the timeline, expected >= 12")
for sub in ("1r_dp_weak", "2r_dp_weak"):
    d = os.path.join(work, "ckpt", sub)
    if not os.path.isdir(d) or not os.listdir(d):
        sys.exit(f"FAIL: no checkpoint written under {d}")
without, stalls = points("plain")
for p in without:
    if p["checkpoint_ms"] != 0:
        sys.exit(f"FAIL: no checkpoint configured, but the stall is {p['checkpoint_ms']} ms: {p}")
if stalls != 0:
    sys.exit(f"FAIL: no checkpoint configured, but {stalls} checkpoint_stall events in the timeline")
print("checkpoint stall (ms) with a save every step:", [p["checkpoint_ms"] for p in with_ckpt],
      "; without:", [p["checkpoint_ms"] for p in without])
PY
echo "kachi bench scaling: the checkpoint stall is measured when checkpoints are taken, zero when not"
