#!/usr/bin/env bash
# A real `kachi lanes` run that cuts a lane by prediction (policy.predict_cut, issue 18): `mpirun -np 2 kachi lanes
# configs/lanes_cut_cpu.pbtxt` on CPU, two tiny GPTs without rungs, lr=3e-3 (lane 0) and lr=1e-4 (lane 1). Checks
# from the journal (`kachi lanes --journal`, journal_check.py cut/states/chain):
# 1. lane 1, and only it, is cut ("decision pause ... reason cut") at a chunk's end (its TICK report at that step,
#    checkpoint there), with >= 10 points of its curve (step >= 40), before max_steps; it holds no cards afterwards
#    (no chunk, no decision giving it cards) and its card widens lane 0; the run completes, lane 0 finished and
#    chosen, lane 1 left paused.
# 2. The control: the same run with --set policy.predict_cut=false cuts nothing, trains lane 1 to the end, and its
#    final loss is worse than lane 0's (the cut was right); the test's checks fail on that run.
# 3. The run killed right after the cut's event (--test_exit_after_event: rank 0 exits) and continued with
#    --resume: the resumed journal keeps the first session's events (the cut among them), replays the cut (lane 1
#    is not restarted: still one cut, no chunk of lane 1 after it), completes, and chooses lane 0 at the same final
#    loss as the uninterrupted run. The cut's event index depends on timing (lanes run asynchronously), so the kill
#    is placed at the uninterrupted run's cut event and moved later (by 3, 6, 9, ... events, up to 7 times: a loaded
#    box shifts it further) when the killed run had not cut yet.
# Extra arguments after SOURCE_DIR go to every `kachi lanes` run, e.g. --set policy.predict_cut=false (the test
# must then fail). Usage: lanes_cut_test.sh KACHI MPIRUN SOURCE_DIR [ARGS...]
set -uo pipefail
kachi=$(readlink -f "$1")
mpirun=$2
source_dir=$3
shift 3
extra=("$@")
export CUDA_VISIBLE_DEVICES=  # a CPU test
. "$source_dir/tests/lib/common.sh"
. "$source_dir/tests/lanes/kill_resume.sh"
kachi_temp_base kachi_lanes_cut
check() { python3 "$source_dir/tests/lanes/journal_check.py" "$@"; }
lanes_file=$source_dir/configs/lanes_cut_cpu.pbtxt
max_steps=96  # base.train.steps in the lanes file

RANDOM=20261122  # seeded text: random words
kachi_word_shards "$kachi" "$base" 20000
data=(--set "base.data.train=$base/data/train_*.bin" --set "base.data.val=$base/data/val_*.bin")
lanes() { "$mpirun" --oversubscribe -np 2 "$kachi" lanes "$lanes_file" "${data[@]}" "$@" "${extra[@]}"; }
finish_loss() { grep -E "^event [0-9]+ decision finish lane $2 " "$1" | awk '{print $NF}'; }

# 1. The uninterrupted run: lane 1 cut at a chunk's end, lane 0 chosen.
start=$SECONDS
lanes --dir "$base/full" >"$base/full.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$base/full.log"; fail "kachi lanes exited $rc"; }
echo "uninterrupted run: $((SECONDS - start)) s"
"$kachi" lanes --journal "$base/full" >"$base/full.txt" || fail "kachi lanes --journal failed"
grep -q '^complete 1$' "$base/full.txt" || fail "the journal is not complete"
cuts=$(check cut "$base/full.txt") || { grep decision "$base/full.txt"; fail "no lane cut at a chunk's end, or a cut lane held cards"; }
echo "$cuts"
[ "$(wc -l <<<"$cuts")" -eq 1 ] || fail "expected one cut, got: $cuts"
read -r _ _ cut_lane _ cut_event _ cut_step _ cut_loss _ resumed <<<"$cuts"
[ "$cut_lane" = 1 ] || fail "lane $cut_lane (not lane 1, lr=1e-4) was cut"
[ "$resumed" = 0 ] || fail "the cut lane was promoted back"
[ "$cut_step" -ge 40 ] && [ "$cut_step" -lt "$max_steps" ] || fail "cut at step $cut_step, not in [40, $max_steps)"
awk -v e="$cut_event" '$1 == "event" && $2 >= e && $3 == "decision" && $4 == "widen" && $6 == 0 { n++ }
  END { exit !n }' "$base/full.txt" || fail "lane 0 was not widened onto the freed card after the cut"
diff <(check states "$base/full.txt") <(printf 'lane 0 finished\nlane 1 paused\n') \
  || fail "expected lane 0 finished and lane 1 paused"
grep -q '^best_lane 0 ' "$base/full.txt" || fail "the run chose another lane than lane 0 (lr=3e-3)"
check chain "$base/full.txt" || fail "the lanes' chunks do not chain"
chosen_loss=$(finish_loss "$base/full.txt" 0)
echo "lane 1 cut at step $cut_step of $max_steps (event $cut_event, loss $cut_loss); lane 0 chosen at $chosen_loss"

# 2. The control: without predict_cut nothing is cut, lane 1 trains to the end and ends worse than lane 0.
lanes --dir "$base/nocut" --set policy.predict_cut=false >"$base/nocut.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$base/nocut.log"; fail "kachi lanes (predict_cut=false) exited $rc"; }
"$kachi" lanes --journal "$base/nocut" >"$base/nocut.txt" || fail "kachi lanes --journal failed (control)"
check cut "$base/nocut.txt" >/dev/null 2>&1 && fail "the control run (predict_cut=false) cut a lane"
diff <(check states "$base/nocut.txt") <(printf 'lane 0 finished\nlane 1 finished\n') \
  || fail "the control run did not finish both lanes"
uncut_loss=$(finish_loss "$base/nocut.txt" 1)
control_loss=$(finish_loss "$base/nocut.txt" 0)
echo "control (predict_cut=false): lane 1 ends at $uncut_loss, lane 0 at $control_loss"
awk -v a="$uncut_loss" -v b="$control_loss" 'BEGIN { exit !(a > b) }' \
  || fail "uncut, lane 1 ends at $uncut_loss, not worse than lane 0's $control_loss: the cut was wrong"

# 3. Killed right after the cut's event, then --resume: the cut is replayed, the run completes with the same choice.
has_cut() { check cut "$1" >/dev/null 2>&1; }
lanes_kill_until "$cut_event" "the cut" has_cut
killed_cuts=$(check cut "$base/cut.txt")
echo "killed after event $exit_at: $killed_cuts"
lanes_resume_keeps_prefix
resumed_cuts=$(check cut "$base/resumed.txt") || fail "after the resume the cut lane held cards (or no cut)"
[ "$resumed_cuts" = "$killed_cuts" ] || fail "the resumed run's cuts ($resumed_cuts) differ from the replayed ($killed_cuts)"
diff <(check states "$base/resumed.txt") <(printf 'lane 0 finished\nlane 1 paused\n') \
  || fail "the resumed run did not end with lane 0 finished and lane 1 paused"
grep -q '^best_lane 0 ' "$base/resumed.txt" || fail "the resumed run chose another lane"
check chain "$base/resumed.txt" || fail "the lanes' chunks do not chain across the resume"
resumed_loss=$(finish_loss "$base/resumed.txt" 0)
awk -v a="$resumed_loss" -v b="$chosen_loss" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-3) }' \
  || fail "lane 0 ends at $resumed_loss after the resume but at $chosen_loss uninterrupted"
echo "resumed run: cut replayed, lane 0 chosen at $resumed_loss (uninterrupted $chosen_loss)"
echo "all kachi lanes cut checks passed"
