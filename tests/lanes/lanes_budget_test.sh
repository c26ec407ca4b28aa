#!/usr/bin/env bash
# Chunk lengths under a checkpoint budget, for real (issue 18; launcher/lanes/chunk_length.h): `mpirun -np 2 kachi
# lanes configs/lanes_tiny_cpu.pbtxt --checkpoint_budget 0.25 --chunk 2`. Checks, from the journal (`kachi lanes
# --journal`, parsed by chunk_budget_check.py): every chunk's length is the budget rule's for the step and checkpoint
# seconds the lane's earlier chunks at that width measured (journaled "timing" lines), and several chunks are longer
# than the fixed 2 steps; the run completes and chooses lr=3e-3. `--chunk 2` with chunks.checkpoint_budget set in the
# file keeps fixed chunks of 2 (and the checker rejects that journal under the budget: it can fail). A run killed
# after event 16 and continued with --resume: every journaled measurement is replayed (the coordinator says how
# many), every chunk of session 1 still follows the rule (with the measurements of session 0 where it has them),
# the chunks chain across the resume, and the same lane is chosen with the same final loss. A budget outside [0, 1)
# is refused.
# Usage: lanes_budget_test.sh KACHI MPIRUN SOURCE_DIR
set -uo pipefail
kachi=$(readlink -f "$1")
mpirun=$2
source_dir=$3
export CUDA_VISIBLE_DEVICES=  # a CPU test
. "$source_dir/tests/lib/common.sh"
kachi_temp_base kachi_lanes_budget
lanes_file=$source_dir/configs/lanes_tiny_cpu.pbtxt
# policy.min_steps 4, eta 3, max_steps 108 in lanes_tiny_cpu.pbtxt, every lane warming up for 4 steps: rungs 4, 12,
# 36 in schedule time (policy.schedule_rungs, the default) are at steps 6, 14, 38 (r + w/2).
rungs=6,14,38,108
budget=0.25

RANDOM=20261122  # seeded text: random words
kachi_word_shards "$kachi" "$base" 20000
data=(--set "base.data.train=$base/data/train_*.bin" --set "base.data.val=$base/data/val_*.bin")
lanes() { "$mpirun" --oversubscribe -np 2 "$kachi" lanes "$lanes_file" "${data[@]}" "$@"; }
rule() { python3 "$source_dir/tests/lanes/chunk_budget_check.py" "$1" "$2" 2 2 "$rungs"; }
field() { awk -v k="$2" '$0 ~ /^chunks / { for (i = 1; i < NF; ++i) if ($i == k) print $(i + 1) }' "$1"; }

# 0. A budget outside [0, 1) is refused before anything runs.
"$kachi" lanes "$lanes_file" --checkpoint_budget 1.5 >"$base/bad.log" 2>&1
[ $? -eq 2 ] && grep -q 'checkpoint_budget wants a fraction' "$base/bad.log" \
  || { cat "$base/bad.log"; fail "--checkpoint_budget 1.5 accepted"; }

# 1. Under the budget.
lanes --dir "$base/budget" --checkpoint_budget $budget --chunk 2 >"$base/budget.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$base/budget.log"; fail "kachi lanes --checkpoint_budget exited $rc"; }
"$kachi" lanes --journal "$base/budget" >"$base/budget.txt" || fail "kachi lanes --journal failed"
grep -q '^complete 1$' "$base/budget.txt" || fail "the journal is not complete"
grep -qE '^event [0-9]+ timing lane ' "$base/budget.txt" || fail "no chunk timing journaled"
rule "$base/budget.txt" $budget >"$base/budget.check" \
  || { cat "$base/budget.check"; fail "chunks do not follow the budget"; }
tail -1 "$base/budget.check"
grep '^kachi lanes: done' "$base/budget.log"
[ "$(field "$base/budget.check" budget_chunks)" -ge 3 ] || fail "fewer than 3 chunks lengthened by the budget"
[ "$(field "$base/budget.check" longest)" -gt 2 ] || fail "no chunk longer than the fixed 2 steps"
best_lane=$(grep '^best_lane' "$base/budget.txt" | awk '{print $2}')
grep -q '^best_lane 6 lr=3e-3' "$base/budget.txt" \
  || fail "chose $(grep '^best_lane' "$base/budget.txt"), not lane 6 (lr=3e-3)"
best_loss=$(grep -E "^event [0-9]+ decision finish lane $best_lane " "$base/budget.txt" | awk '{print $NF}')
python3 "$source_dir/tests/lanes/journal_check.py" chain "$base/budget.txt" || fail "the lanes' chunks do not chain"

# 2. --chunk 2 keeps fixed chunks even when the lanes file sets a budget; the budget rule rejects that journal.
lanes --dir "$base/fixed" --chunk 2 --set chunks.checkpoint_budget=$budget >"$base/fixed.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$base/fixed.log"; fail "kachi lanes --chunk 2 exited $rc"; }
"$kachi" lanes --journal "$base/fixed" >"$base/fixed.txt" || fail "kachi lanes --journal failed"
rule "$base/fixed.txt" 0 >"$base/fixed.check" \
  || { cat "$base/fixed.check"; fail "--chunk 2 did not keep fixed chunks"; }
[ "$(field "$base/fixed.check" longest)" -eq 2 ] || fail "a chunk of the --chunk 2 run is not 2 steps"
rule "$base/fixed.txt" $budget >/dev/null 2>&1 && fail "the budget check accepts fixed chunks of 2 steps"
echo "fixed chunks: $(tail -1 "$base/fixed.check")"
grep '^kachi lanes: done' "$base/fixed.log"

# 3. Killed after event 16, then --resume with the same budget.
lanes --dir "$base/cut" --checkpoint_budget $budget --chunk 2 --test_exit_after_event 16 >"$base/cut.log" 2>&1
[ $? -ne 0 ] || fail "the run with the exit hook exited 0"
"$kachi" lanes --journal "$base/cut" >"$base/cut.txt" || fail "no journal after the kill"
grep -q '; 0 chunk measurements replayed' "$base/cut.log" || fail "a fresh run did not start with 0 measurements"
lanes --dir "$base/cut" --checkpoint_budget $budget --chunk 2 --resume >"$base/resume.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$base/resume.log"; fail "kachi lanes --resume exited $rc"; }
grep -q 'resumed after event 16 ' "$base/resume.log" || fail "the resume did not continue after event 16"
# The coordinator replays every chunk measurement journaled before the kill.
journaled=$(grep -cE '^event ([0-9]|1[0-6]) timing lane ' "$base/cut.txt")
grep -q "; $journaled chunk measurements replayed from the journal" "$base/resume.log" \
  || { grep 'measurements replayed' "$base/resume.log"; fail "the resume did not replay $journaled measurements"; }
"$kachi" lanes --journal "$base/cut" >"$base/resumed.txt" || fail "kachi lanes --journal failed"
grep -q '^complete 1$' "$base/resumed.txt" || fail "the resumed journal is not complete"
python3 "$source_dir/tests/lanes/journal_check.py" chain "$base/resumed.txt" \
  || fail "chunks do not chain across the resume"
rule "$base/resumed.txt" $budget >"$base/resumed.check" \
  || { cat "$base/resumed.check"; fail "resumed chunks do not follow the budget"; }
tail -1 "$base/resumed.check"
# Chunks of session 1 that followed the budget from a session-0 measurement (usually 1-2; 0 when no lane resumed at a
# width it had been measured at before the kill, which timing decides): printed, not required.
resized=$(field "$base/resumed.check" resumed_budget_chunks)
echo "chunks after the resume sized from measurements journaled before it: $resized"
grep -q "^best_lane $best_lane " "$base/resumed.txt" || fail "the resumed run chose another lane"
resumed_loss=$(grep -E "^event [0-9]+ decision finish lane $best_lane " "$base/resumed.txt" | awk '{print $NF}')
awk -v a="$resumed_loss" -v b="$best_loss" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-3) }' \
  || fail "the chosen lane ends at $resumed_loss after the resume but at $best_loss uninterrupted"
echo "resumed: chosen lane $best_lane at $resumed_loss (uninterrupted $best_loss)"
echo "all checkpoint budget checks passed"
