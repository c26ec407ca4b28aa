#!/usr/bin/env bash
# bench/lanes/record_real_curves.sh end to end on a cut-down copy of configs/lanes_real_curves_cpu.pbtxt (40 steps,
# two of its lanes, warmup 10 and 150, and a lane with lr 1e30 that diverges): the CSV it writes has the loader's
# header, every eval step of each lane with its batch_units (global / micro batch) and warmup_steps, a "nan" row for
# the diverged lane, and `kachi_lanes_quality --csv` accepts it. Exit 77 (skipped) without the fortunes-min text.
# Usage: record_real_curves_test.sh KACHI KACHI_LANES_QUALITY SOURCE_DIR
set -uo pipefail
kachi=$(readlink -f "$1")
quality=$(readlink -f "$2")
source_dir=$3
[ -f /usr/share/games/fortunes/fortunes ] || { echo "SKIPPED: no /usr/share/games/fortunes (fortunes-min)"; exit 77; }
base=$(mktemp -d /tmp/kachi_record_curves_XXXXXX)
trap 'rm -rf "$base"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

lanes=$base/lanes.pbtxt
sed -e 's/steps: 540/steps: 40/' -e 's/min_steps: 20 /min_steps: 10 /' "$source_dir/configs/lanes_real_curves_cpu.pbtxt" \
  | grep -vE '^lanes \{' >"$lanes"
grep -E '^lanes \{ name: "lr3e-3_wd0_wu(10|150)"' "$source_dir/configs/lanes_real_curves_cpu.pbtxt" >>"$lanes"
echo 'lanes { name: "lr1e30" set: "optimizer.lr=1e30" set: "optimizer.warmup_steps=10" }' >>"$lanes"
grep -q 'steps: 40 ' "$lanes" || fail "could not cut the lanes file to 40 steps"
[ "$(grep -c '^lanes {' "$lanes")" -eq 3 ] || fail "expected 3 lanes in the cut-down file"

bash "$source_dir/bench/lanes/record_real_curves.sh" "$kachi" "$base/curves.csv" "$lanes" >"$base/record.log" 2>&1 \
  || { cat "$base/record.log"; fail "record_real_curves.sh failed"; }
cat "$base/record.log"
csv=$base/curves.csv
[ "$(head -1 "$csv")" = "lane,step,loss,batch_units,warmup_steps" ] || fail "header: $(head -1 "$csv")"
for lane in lr3e-3_wd0_wu10:10 lr3e-3_wd0_wu150:150; do
  name=${lane%:*}
  warmup=${lane#*:}
  steps=$(awk -F, -v n="$name" '$1 == n { printf "%s ", $2 }' "$csv")
  [ "$steps" = "10 20 30 40 " ] || fail "lane $name has eval steps '$steps', expected 10 20 30 40"
  awk -F, -v n="$name" -v w="$warmup" '$1 == n && ($4 != 4 || $5 != w || $3 !~ /^[0-9.]+$/) { bad = 1 }
    END { exit bad }' "$csv" || fail "lane $name: a row without loss, batch_units 4 and warmup_steps $warmup"
done
grep -qE '^lr1e30,[0-9]+,nan,4,10$' "$csv" || fail "no nan row for the diverged lane: $(grep lr1e30 "$csv")"
grep -q 'lr1e30: .* DIVERGED' "$base/record.log" || fail "the log does not name the diverged lane"
grep -qE '^# measured: step median [0-9.]+ ms' "$base/record.log" || fail "no measured step time"

"$quality" --csv "$csv" draws=2 lanes=3 min_steps=10 >"$base/quality.txt" 2>&1 \
  || { cat "$base/quality.txt"; fail "kachi_lanes_quality --csv rejected the recorded CSV"; }
grep -q '^| real | kachi |' "$base/quality.txt" || fail "no kachi row in the quality table"
grep -q '^| lr1e30 | 10 | diverged |' "$base/quality.txt" || fail "the lane table does not show lr1e30 diverged"
echo "record_real_curves.sh: 3 lanes recorded (one diverged), CSV accepted by kachi_lanes_quality --csv"
