#!/usr/bin/env bash
# Records real learning curves for policy quality on recorded curves (issue 18): every lane of
# configs/lanes_real_curves_cpu.pbtxt (lr x weight decay x warmup) trained alone with `kachi train` (the file's base
# config plus the lane's `set`s) on the fortunes-min text, its eval loss every base.train.eval_every steps written to
# one CSV in the simulator's format (launcher/lanes/curves.h): lane,step,loss,batch_units,warmup_steps. A lane that
# diverges (kachi train stops with a non-finite loss) gets a "nan" row at the next eval step.
# Each lane also writes a synchronous checkpoint every policy.min_steps steps (the chunk length `kachi lanes` uses)
# so the per-step time and the checkpoint time are measured, not assumed: the script prints their medians (over all
# lanes' steps and saves) for kachi_lanes_quality --step_s / --checkpoint_s.
# Usage: record_real_curves.sh [KACHI [OUT_CSV [LANES_FILE]]]
#   defaults: build-cpu/kachi, bench/lanes/real_curves_cpu.csv, configs/lanes_real_curves_cpu.pbtxt
# Runs niced, one lane at a time (about 10-15 min on a 2-core box shared with builds). Needs the fortunes-min
# package (/usr/share/games/fortunes) and python3 (no packages) for the JSON lines.
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
kachi=$(readlink -f "${1:-$source_dir/build-cpu/kachi}")
out_csv=${2:-$source_dir/bench/lanes/real_curves_cpu.csv}
lanes_file=${3:-$source_dir/configs/lanes_real_curves_cpu.pbtxt}
fortunes=/usr/share/games/fortunes
[ -x "$kachi" ] || { echo "record_real_curves: no kachi binary at $kachi" >&2; exit 1; }
if [ ! -f "$fortunes/fortunes" ]; then
  echo "record_real_curves: $fortunes/fortunes missing (apt-get install fortunes-min)" >&2
  exit 1
fi
export CUDA_VISIBLE_DEVICES=  # a CPU recording
work=$(mktemp -d /tmp/kachi_real_curves_XXXXXX)
trap 'rm -rf "$work"' EXIT

# The base config: the lanes file's `base { ... }` block up to the first lone "}" line.
awk '/^base \{/ { inside = 1; next } inside && /^\}/ { exit } inside { print }' "$lanes_file" >"$work/base.pbtxt"
[ -s "$work/base.pbtxt" ] || { echo "record_real_curves: no base { } block in $lanes_file" >&2; exit 1; }
field() { grep -oE "$1: *[0-9]+" "$work/base.pbtxt" | head -1 | grep -oE '[0-9]+$'; }
global_batch=$(field global_batch)
micro_batch=$(field micro_batch)
batch_units=$((global_batch / micro_batch))
chunk=$(grep -oE 'min_steps: *[0-9]+' "$lanes_file" | head -1 | grep -oE '[0-9]+$')

"$kachi" data --out "$work/data" "$fortunes/fortunes" "$fortunes/literature" "$fortunes/riddles" >"$work/data.log"
echo "# $(date -u +%FT%TZ) $(uname -n) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $kachi"
echo "# lanes $lanes_file, batch_units $batch_units, checkpoint every $chunk steps (synchronous)"

echo "lane,step,loss,batch_units,warmup_steps" >"$work/curves.csv"
: >"$work/timing.jsonl"
grep -E '^lanes \{' "$lanes_file" | while read -r line; do
  name=$(grep -oE 'name: *"[^"]+"' <<<"$line" | sed -E 's/name: *"([^"]+)"/\1/')
  mapfile -t sets < <(grep -oE 'set: *"[^"]+"' <<<"$line" | sed -E 's/set: *"([^"]+)"/\1/')
  warmup=0
  args=()
  for s in "${sets[@]}"; do
    args+=(--set "$s")
    [[ $s == optimizer.warmup_steps=* ]] && warmup=${s#optimizer.warmup_steps=}
  done
  metrics=$work/$name.jsonl
  start=$SECONDS
  set +e
  nice -n 10 "$kachi" train "$work/base.pbtxt" "${args[@]}" </dev/null \
    --set "data.train=$work/data/train_*.bin" --set "data.val=$work/data/val_*.bin" \
    --set "train.metrics=$metrics" --set "checkpoint.dir=$work/ckpt_$name" --set "checkpoint.every=$chunk" \
    --set checkpoint.async=false --set checkpoint.keep_last=1 >"$work/$name.log" 2>&1
  rc=$?
  set -e
  rm -rf "$work/ckpt_$name"
  diverged=0
  if [ $rc -ne 0 ]; then
    if grep -qiE 'diverged|non-finite|nan' "$work/$name.log"; then
      diverged=1
    else
      cat "$work/$name.log" >&2
      echo "record_real_curves: lane $name failed (exit $rc)" >&2
      exit 1
    fi
  fi
  python3 - "$metrics" "$name" "$batch_units" "$warmup" "$diverged" >>"$work/curves.csv" 2>>"$work/timing.jsonl" <<'EOF'
import json, sys
path, name, units, warmup, diverged = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1"
rows = [json.loads(line) for line in open(path)]
evals = [(r["step"], r["val_loss"]) for r in rows if "val_loss" in r]
for step, loss in evals:
    print(f"{name},{step},{loss:.6f},{units},{warmup}")
if diverged:
    every = evals[1][0] - evals[0][0] if len(evals) > 1 else 10
    print(f"{name},{(evals[-1][0] if evals else 0) + every},nan,{units},{warmup}")
ms = [r["ms"] for r in rows if "ms" in r and r["step"] > 1]
stalls = [r["ckpt_stall_ms"] for r in rows if "ckpt_stall_ms" in r]
print(json.dumps({"lane": name, "step_ms": ms, "ckpt_ms": stalls}), file=sys.stderr)
EOF
  last=$(tail -1 "$work/curves.csv" | cut -d, -f2,3)
  echo "# $name: $((SECONDS - start)) s, last eval (step,loss) $last$([ $diverged = 1 ] && echo ' DIVERGED')"
done
python3 - "$work/timing.jsonl" <<'EOF'
import json, statistics, sys
lanes = [json.loads(line) for line in open(sys.argv[1])]
ms = [m for lane in lanes for m in lane["step_ms"]]
ck = [c for lane in lanes for c in lane["ckpt_ms"]]
per_lane = [statistics.median(lane["step_ms"]) for lane in lanes if lane["step_ms"]]  # a diverged lane may have none
median = lambda xs: f"{statistics.median(xs):.1f}" if xs else "-"
print(f"# measured: step median {median(ms)} ms over {len(ms)} steps "
      f"(per lane {median([min(per_lane)] if per_lane else [])}-{median([max(per_lane)] if per_lane else [])} ms); "
      f"synchronous checkpoint median {median(ck)} ms over {len(ck)} saves")
EOF
mkdir -p "$(dirname "$out_csv")"
cp "$work/curves.csv" "$out_csv"
echo "# wrote $out_csv ($(($(wc -l <"$out_csv") - 1)) points)"
