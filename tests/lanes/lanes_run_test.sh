#!/usr/bin/env bash
# `mpirun -np 4 kachi lanes configs/lanes_tiny_cpu.pbtxt` end to end on CPU (issue 6's CI case): eight tiny GPTs
# that differ in learning rate compete for 4 ranks. Checks, from the journal (`kachi lanes --journal`): the run
# completes; rung promotions, pauses and widening happen; the lane with lr=1e30 is stopped as diverged and the job
# goes on; card utilization >= 90%; the chosen lane is the one with the lowest final validation loss when every
# (non-diverging) lane is trained to the end separately with `kachi train`, and its final loss equals that
# separate run's (the lane's curve survives pauses and resharding); each lane's rounds continue where the previous
# one ended. Then a run killed after round 2 (test hook KACHI_LANES_TEST_EXIT_AFTER_ROUND) and continued with
# --resume makes the same decisions and reports as the uninterrupted run: no lane lost or duplicated.
# Usage: lanes_run_test.sh KACHI MPIRUN SOURCE_DIR
set -uo pipefail
kachi=$(readlink -f "$1")
mpirun=$2
source_dir=$3
export CUDA_VISIBLE_DEVICES=  # a CPU test
base=$(mktemp -d /tmp/kachi_lanes_run_XXXXXX)
trap 'rm -rf "$base"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
lanes_file=$source_dir/configs/lanes_tiny_cpu.pbtxt

RANDOM=20261122  # seeded text: random words
words=(card pool lane rank tensor shard token batch step loss)
for _ in $(seq 20000); do printf '%s ' "${words[RANDOM % 10]}"; done >"$base/text.txt"
"$kachi" data --out "$base/data" "$base/text.txt" >/dev/null || fail "kachi data failed"
data=(--set "base.data.train=$base/data/train_*.bin" --set "base.data.val=$base/data/val_*.bin")

# 1. The uninterrupted run.
"$mpirun" --oversubscribe -np 4 "$kachi" lanes "$lanes_file" "${data[@]}" --dir "$base/full" >"$base/full.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$base/full.log"; fail "kachi lanes exited $rc"; }
grep -E '^kachi lanes: done|diverged|widen|promote' "$base/full.log" | head -20
grep -qE '^  lane +state +rung +cards +steps +loss' "$base/full.log" || fail "no live table in the log"
journal=$("$kachi" lanes --journal "$base/full") || fail "kachi lanes --journal failed"
grep -q '^complete 1$' <<<"$journal" || fail "the journal is not complete"
for kind in promote pause widen start finish stop; do
  grep -qE "^round [0-9]+ decision $kind " <<<"$journal" || fail "no '$kind' decision in the journal"
done
grep -qE '^round [0-9]+ decision promote lane [0-9]+ rung 1 ' <<<"$journal" || fail "no promotion at rung 1"
[ -s "$base/full/lanes_report.html" ] || fail "no lanes_report.html beside the journal"

# The diverging lane (lr=1e30, the last of the grid: lane 7) is stopped; others still train afterwards.
stop_round=$(grep -E '^round [0-9]+ decision stop lane 7 ' <<<"$journal" | awk '{print $2}')
[ -n "$stop_round" ] || fail "lane 7 (lr=1e30) was not stopped"
grep -qE '^round [0-9]+ report FAILURE lane 7 .*diverged' <<<"$journal" || fail "lane 7's failure is not 'diverged'"
last_round=$(tail -4 <<<"$journal" | head -1 | awk '{print $2}')
awk -v s="$stop_round" '$1 == "round" && $2 > s && $3 == "run"' <<<"$journal" | grep -q . \
  || fail "no lane trained after lane 7 was stopped (round $stop_round)"

utilization=$(grep '^utilization' <<<"$journal" | awk '{print $2}')
echo "card utilization from the journal: $utilization"
awk -v u="$utilization" 'BEGIN { exit !(u >= 0.90) }' || fail "utilization $utilization < 0.90"

# Continuity: each lane's rounds start where its previous round ended, steps strictly increase.
awk '$3 == "run" { split($9, s, "->"); lane = $5;
       if ((lane in last) && s[1] != last[lane]) { print "lane " lane " starts at " s[1] " after " last[lane]; bad = 1 }
       if (s[2] + 0 < s[1] + 0) { print "lane " lane " goes back"; bad = 1 }
       last[lane] = s[2] }
     END { exit bad }' <<<"$journal" || fail "a lane's steps are not continuous"

# 2. Every non-diverging lane trained to the end separately; the chosen lane must have the lowest final val loss.
best_lane=$(grep '^best_lane' <<<"$journal" | awk '{print $2}')
chosen_loss=$(grep -E "^round [0-9]+ decision finish lane $best_lane " <<<"$journal" | awk '{print $NF}')
sed -n '/^base {/,/^}/p' "$lanes_file" | sed '1d;$d' | grep -v 'checkpoint' >"$base/base.pbtxt"
mapfile -t lrs < <(grep -o 'values: "[^"]*"' "$lanes_file" | sed 's/values: "\(.*\)"/\1/')
[ ${#lrs[@]} -eq 8 ] || fail "expected 8 learning rates in $lanes_file, found ${#lrs[@]}"
separate_best=-1; separate_best_loss=
for lane in $(seq 0 6); do
  loss=$("$kachi" train "$base/base.pbtxt" --set "optimizer.lr=${lrs[$lane]}" \
         --set "data.train=$base/data/train_*.bin" --set "data.val=$base/data/val_*.bin" 2>&1 \
         | grep -o 'val loss [0-9.]*' | tail -1 | awk '{print $3}')
  [ -n "$loss" ] || fail "kachi train of lane $lane (lr=${lrs[$lane]}) printed no val loss"
  echo "separately: lane $lane lr=${lrs[$lane]} final val loss $loss"
  if [ "$lane" = "$best_lane" ]; then chosen_separate=$loss; fi
  if [ -z "$separate_best_loss" ] || awk -v a="$loss" -v b="$separate_best_loss" 'BEGIN { exit !(a < b) }'; then
    separate_best=$lane; separate_best_loss=$loss
  fi
done
echo "chosen lane $best_lane (loss $chosen_loss); best trained separately: lane $separate_best ($separate_best_loss)"
[ "$best_lane" = "$separate_best" ] || fail "chosen lane $best_lane, but lane $separate_best is best trained separately"
awk -v a="$chosen_loss" -v b="$chosen_separate" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-3) }' \
  || fail "the chosen lane ends at $chosen_loss in the lanes run but $chosen_separate trained separately"

# 3. Killed after round 2, then --resume: the same decisions and reports as the uninterrupted run.
KACHI_LANES_TEST_EXIT_AFTER_ROUND=2 "$mpirun" --oversubscribe -np 4 -x KACHI_LANES_TEST_EXIT_AFTER_ROUND \
  "$kachi" lanes "$lanes_file" "${data[@]}" --dir "$base/cut" >"$base/cut.log" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "the run with the exit hook exited 0"
cut_journal=$("$kachi" lanes --journal "$base/cut") || fail "no journal after the cut"
grep -q '^complete 0$' <<<"$cut_journal" || fail "the cut journal says complete"
[ "$(grep -c '^round 3 ' <<<"$cut_journal")" -eq 0 ] || fail "the cut journal holds round 3"
"$mpirun" --oversubscribe -np 4 "$kachi" lanes "$lanes_file" "${data[@]}" --dir "$base/cut" --resume \
  >"$base/resume.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$base/resume.log"; fail "kachi lanes --resume exited $rc"; }
grep -q 'resumed after round 3' "$base/resume.log" || fail "the resume did not continue after round 3"
resumed=$("$kachi" lanes --journal "$base/cut")
events() { grep -E '^round [0-9]+ (decision|report|run) |^best_lane|^complete' <<<"$1"; }
diff <(events "$journal") <(events "$resumed") >"$base/diff.txt" \
  || { head -20 "$base/diff.txt"; fail "the resumed run's journal differs from the uninterrupted run's"; }
echo "resumed run: same $(events "$resumed" | wc -l) journal events as the uninterrupted run"
echo "all kachi lanes run checks passed"
