#!/usr/bin/env bash
# `mpirun -np 4 kachi lanes configs/lanes_tiny_cpu.pbtxt` end to end on CPU (issue 6's CI case): eight tiny GPTs
# that differ in learning rate compete for 4 ranks, asynchronously. Checks, from the journal (`kachi lanes
# --journal`, parsed by journal_check.py): the run completes; rung promotions, pauses and widening happen; the lane
# with lr=1e30 is stopped as diverged and the job goes on; measured card utilization >= 90%; the chosen lane is the
# one with the lowest final validation loss when every (non-diverging) lane is trained to the end separately with
# `kachi train`, and its final loss equals that separate run's (the lane's curve survives pauses, kept trainers
# and resharding); each lane's chunks chain step to step, one at a time, and no card is in two chunks at once.
# Then a run killed after event 10 (test hook --test_exit_after_event: rank 0 exits, mpirun ends the
# rest, chunks in flight are lost) and continued with --resume: it completes with the same lanes stopped, the same
# lanes finished but for runners-up (a lane finished in only one run was promoted as a runner-up in one of them:
# timing decides whether a paused runner-up gets idle cards) and the same chosen lane at the same final loss as the
# uninterrupted run, every lane's chunks still
# chain across the resume (none lost, none trained twice in the journal), and lanes restart from checkpoints.
# Lanes run asynchronously, so the order of events (and which lanes a rung promotes first) depends on timing: the
# resumed journal cannot be required to equal the uninterrupted one event for event, as it was with rounds.
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

check() { python3 "$source_dir/tests/lanes/journal_check.py" "$@"; }

# 1. The uninterrupted run.
start=$SECONDS
"$mpirun" --oversubscribe -np 4 "$kachi" lanes "$lanes_file" "${data[@]}" --dir "$base/full" >"$base/full.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$base/full.log"; fail "kachi lanes exited $rc"; }
echo "uninterrupted run: $((SECONDS - start)) s"
grep -E '^kachi lanes: done|diverged|widen|promote' "$base/full.log" | head -20
grep -qE '^  lane +state +rung +cards +steps +loss' "$base/full.log" || fail "no live table in the log"
journal=$("$kachi" lanes --journal "$base/full") || fail "kachi lanes --journal failed"
echo "$journal" >"$base/full.txt"
grep -q '^complete 1$' <<<"$journal" || fail "the journal is not complete"
for kind in promote pause widen start finish stop; do
  grep -qE "^event [0-9]+ decision $kind " <<<"$journal" || fail "no '$kind' decision in the journal"
done
grep -qE '^event [0-9]+ decision promote lane [0-9]+ rung 1 ' <<<"$journal" || fail "no promotion at rung 1"
[ -s "$base/full/lanes_report.html" ] || fail "no lanes_report.html beside the journal"
# Lanes keep their trainer between chunks on the same cards (no restore), and restore after a move.
grep -qE '^event [0-9]+ run .* restored 0$' <<<"$journal" || fail "no chunk went on with a kept trainer"
grep -qE '^event [0-9]+ run lane [0-9]+ cards \[[0-9,]+\] steps [1-9][0-9]*->.* restored 1$' <<<"$journal" \
  || fail "no chunk restored a checkpoint"

# The diverging lane (lr=1e30, the last of the grid: lane 7) is stopped; others still train afterwards.
stop_event=$(grep -E '^event [0-9]+ decision stop lane 7 ' <<<"$journal" | awk '{print $2}')
[ -n "$stop_event" ] || fail "lane 7 (lr=1e30) was not stopped"
grep -qE '^event [0-9]+ report FAILURE lane 7 .*diverged' <<<"$journal" || fail "lane 7's failure is not 'diverged'"
# (awk's exit status, not `| grep -q .`: under pipefail grep's early exit can end awk with SIGPIPE and fail the check)
awk -v s="$stop_event" '$1 == "event" && $2 > s && $3 == "run" { n++ } END { exit !n }' <<<"$journal" \
  || fail "no lane trained after lane 7 was stopped (event $stop_event)"

utilization=$(grep '^utilization' <<<"$journal" | awk '{print $2}')
echo "card utilization measured from the journal: $utilization"
awk -v u="$utilization" 'BEGIN { exit !(u >= 0.90) }' || fail "utilization $utilization < 0.90"

# Continuity: each lane's chunks chain step to step, one at a time; no card holds two chunks at once.
check chain "$base/full.txt" || fail "the lanes' chunks do not chain"

# 2. Every non-diverging lane trained to the end separately; the chosen lane must have the lowest final val loss.
best_lane=$(grep '^best_lane' <<<"$journal" | awk '{print $2}')
chosen_loss=$(grep -E "^event [0-9]+ decision finish lane $best_lane " <<<"$journal" | awk '{print $NF}')
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

# 3. Killed after event 10 (lanes in flight), then --resume.
"$mpirun" --oversubscribe -np 4 "$kachi" lanes "$lanes_file" "${data[@]}" --dir "$base/cut" \
  --test_exit_after_event 10 >"$base/cut.log" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "the run with the exit hook exited 0"
cut_journal=$("$kachi" lanes --journal "$base/cut") || fail "no journal after the cut"
grep -q '^complete 0$' <<<"$cut_journal" || fail "the cut journal says complete"
[ "$(grep -cE '^event [0-9]+ at ' <<<"$cut_journal")" -eq 11 ] || fail "the cut journal does not end at event 10"
"$mpirun" --oversubscribe -np 4 "$kachi" lanes "$lanes_file" "${data[@]}" --dir "$base/cut" --resume \
  >"$base/resume.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$base/resume.log"; fail "kachi lanes --resume exited $rc"; }
grep -q 'resumed after event 10 ' "$base/resume.log" || fail "the resume did not continue after event 10"
resumed=$("$kachi" lanes --journal "$base/cut")
echo "$resumed" >"$base/resumed.txt"
grep -q '^complete 1$' <<<"$resumed" || fail "the resumed journal is not complete"
grep -qE '^event 11 at [0-9.]+ session 1$' <<<"$resumed" || fail "event 11 does not open session 1"
diff <(grep -E '^event ([0-9]|10) ' <<<"$resumed") <(grep -E '^event ([0-9]|10) ' <<<"$cut_journal") >/dev/null \
  || fail "the resume rewrote the journal's first events"
check chain "$base/resumed.txt" || fail "the lanes' chunks do not chain across the resume"
# Lanes in flight at the kill restart from their journaled checkpoint in session 1.
awk '$1 == "event" && $2 > 10 && $3 == "run" && $NF == 1 && $9 !~ /^0->/ { n++ } END { exit !n }' <<<"$resumed" \
  || fail "no lane restarted from a checkpoint after the resume"
# The same lanes are stopped, the same lane is chosen, with the same final loss. The lanes that finish may differ only
# by runners-up (policy.promote_runners_up, on by default): whether a paused runner-up gets idle cards, and how far
# it goes, depends on when the other lanes report; a lane that finished in one run and not in the other must have
# been promoted as a runner-up in one of them.
lanes_in() { check states "$1" | awk -v s="$2" '$3 == s {print $2}' | sort; }
diff <(lanes_in "$base/full.txt" stopped) <(lanes_in "$base/resumed.txt" stopped) \
  || fail "the resumed run stopped other lanes than the uninterrupted run"
runners_up=$( (check runners_up "$base/full.txt"; check runners_up "$base/resumed.txt") 2>/dev/null | awk '{print $3}')
echo "finished lanes: uninterrupted $(lanes_in "$base/full.txt" finished | tr '\n' ' ')resumed" \
  "$(lanes_in "$base/resumed.txt" finished | tr '\n' ' ')runner-up promotions: $(wc -w <<<"$runners_up")"
for lane in $(comm -3 <(lanes_in "$base/full.txt" finished) <(lanes_in "$base/resumed.txt" finished) | tr -d '\t'); do
  grep -qx "$lane" <<<"$runners_up" \
    || fail "lane $lane finished in only one of the uninterrupted and resumed runs without a runner-up promotion"
done
grep '^best_lane' <<<"$resumed" | grep -q "^best_lane $best_lane " || fail "the resumed run chose another lane"
resumed_loss=$(grep -E "^event [0-9]+ decision finish lane $best_lane " <<<"$resumed" | awk '{print $NF}')
awk -v a="$resumed_loss" -v b="$chosen_separate" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-3) }' \
  || fail "the chosen lane ends at $resumed_loss after the resume but $chosen_separate trained separately"
echo "resumed run: same lanes finished and stopped, chosen lane $best_lane at $resumed_loss"

# 4. A run in which no lane finishes (both lanes diverge) chose nothing: kachi lanes must exit non-zero and say so.
sed -e 's/values: "1e-4" values: "2e-4".*$/values: "1e30" values: "2e30" }/' -e '/values: "1.5e-3"/d' "$lanes_file" \
  >"$base/diverging.pbtxt"
grep -q 'values: "1e30" values: "2e30" }' "$base/diverging.pbtxt" || fail "could not write the all-diverging lanes file"
"$mpirun" --oversubscribe -np 2 "$kachi" lanes "$base/diverging.pbtxt" "${data[@]}" --dir "$base/diverging" \
  >"$base/diverging.log" 2>&1
rc=$?
[ $rc -ne 0 ] || { cat "$base/diverging.log"; fail "kachi lanes exited 0 although no lane finished"; }
grep -q 'kachi lanes: no lane finished' "$base/diverging.log" || { cat "$base/diverging.log"; fail "no 'no lane finished' line"; }
echo "all-diverging run: exit $rc, 'no lane finished'"
echo "all kachi lanes run checks passed"
