#!/usr/bin/env bash
# A real `kachi lanes` run with runners-up (policy.promote_runners_up, issue 18): `mpirun -np 2 kachi lanes
# configs/lanes_runners_up_cpu.pbtxt` on CPU, six tiny GPTs whose learning-rate curves cross (lr=2e-2 and 8e-3 lead
# at the first two rungs, lr=5e-3, lane 2, ends best). Checks from the journal (`kachi lanes --journal`,
# journal_check.py runners_up/states/chain):
# 1. Every lane trained alone to the end with `kachi train` (two at a time): the best one is the reference.
# 2. The run completes; paused runners-up are promoted ("decision promote ... reason runner-up"), each from the rung
#    it was paused at and continuing from that rung's step; the chosen lane is the one best trained alone, at the
#    same final loss (1e-3); the chunks chain.
# 3. The control: the same run with --set policy.promote_runners_up=false promotes no runner-up and chooses a lane
#    that is worse trained alone (plain promotion ASHA keeps the late lane paused at the first rung): the test's
#    checks fail on that run (pass --set policy.promote_runners_up=false as an extra argument to see it).
# 4. The run killed right after the event that first promotes the chosen lane as a runner-up
#    (--test_exit_after_event: rank 0 exits) and continued with --resume: the first session's events are kept, the
#    promotion is replayed (the lane goes on from its rung, not from step 0), the run completes with the same choice
#    and the same final loss (which other lanes finish or are cut depends on timing, as in lanes_cut_test). The event
#    index depends on timing (lanes run asynchronously), so the kill is placed at the uninterrupted run's event and
#    moved later (by 3, 6, 9, ... events, up to 7 times: a loaded box shifts it further) when the killed run had not
#    promoted that lane yet.
# Extra arguments after SOURCE_DIR go to every `kachi lanes` run. Usage: lanes_runners_up_test.sh KACHI MPIRUN
# SOURCE_DIR [ARGS...]
set -uo pipefail
kachi=$(readlink -f "$1")
mpirun=$2
source_dir=$3
shift 3
extra=("$@")
. "$source_dir/tests/lib/common.sh"
. "$source_dir/tests/lanes/kill_resume.sh"
export CUDA_VISIBLE_DEVICES=  # a CPU test
kachi_temp_base kachi_lanes_runners_up
check() { python3 "$source_dir/tests/lanes/journal_check.py" "$@"; }
lanes_file=$source_dir/configs/lanes_runners_up_cpu.pbtxt

RANDOM=20261122  # seeded text: random words
kachi_word_shards "$kachi" "$base" 20000
data=(--set "base.data.train=$base/data/train_*.bin" --set "base.data.val=$base/data/val_*.bin")
lanes() { "$mpirun" --oversubscribe -np 2 "$kachi" lanes "$lanes_file" "${data[@]}" "$@" "${extra[@]}"; }
finish_loss() { grep -E "^event [0-9]+ decision finish lane $2 " "$1" | awk '{print $NF}'; }
runner_up_lanes() { check runners_up "$1" 2>/dev/null | awk '{print $3}' | sort -u | tr '\n' ' '; }

# 1. Every lane trained alone to the end (the lanes file's base, without its checkpoint dir), two at a time.
start=$SECONDS
sed -n '/^base {/,/^}/p' "$lanes_file" | sed '1d;$d' | grep -v 'checkpoint' >"$base/base.pbtxt"
mapfile -t lrs < <(sed -n '/^search {/,/^}/p' "$lanes_file" | grep -o 'values: "[^"]*"' | sed 's/values: "\(.*\)"/\1/')
[ ${#lrs[@]} -eq 6 ] || fail "expected 6 learning rates in $lanes_file, found ${#lrs[@]}"
for lane in "${!lrs[@]}"; do
  "$kachi" train "$base/base.pbtxt" --set "optimizer.lr=${lrs[$lane]}" \
    --set "data.train=$base/data/train_*.bin" --set "data.val=$base/data/val_*.bin" >"$base/alone$lane.log" 2>&1 &
  if (( lane % 2 == 1 )); then wait; fi
done
wait
alone_best=-1; alone_best_loss=
for lane in "${!lrs[@]}"; do
  loss=$(grep -o 'val loss [0-9.]*' "$base/alone$lane.log" | tail -1 | awk '{print $3}')
  [ -n "$loss" ] || { cat "$base/alone$lane.log"; fail "kachi train of lane $lane (lr=${lrs[$lane]}) printed no val loss"; }
  alone[$lane]=$loss
  if [ -z "$alone_best_loss" ] || awk -v a="$loss" -v b="$alone_best_loss" 'BEGIN { exit !(a < b) }'; then
    alone_best=$lane; alone_best_loss=$loss
  fi
done
echo "trained alone ($((SECONDS - start)) s): $(for l in "${!lrs[@]}"; do printf 'lr=%s %s  ' "${lrs[$l]}" "${alone[$l]}"; done)"
echo "best trained alone: lane $alone_best (lr=${lrs[$alone_best]}) at $alone_best_loss"

# 2. The run with runners-up: promotions of paused runners-up, the best lane chosen at its loss trained alone.
start=$SECONDS
lanes --dir "$base/full" >"$base/full.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$base/full.log"; fail "kachi lanes exited $rc"; }
echo "uninterrupted run: $((SECONDS - start)) s"
"$kachi" lanes --journal "$base/full" >"$base/full.txt" || fail "kachi lanes --journal failed"
grep -q '^complete 1$' "$base/full.txt" || fail "the journal is not complete"
promotions=$(check runners_up "$base/full.txt") \
  || { grep decision "$base/full.txt"; fail "no runner-up promoted, or one promoted from a rung it was not paused at"; }
echo "$promotions"
check chain "$base/full.txt" || fail "the lanes' chunks do not chain"
best_lane=$(grep '^best_lane' "$base/full.txt" | awk '{print $2}')
chosen_loss=$(finish_loss "$base/full.txt" "$best_lane")
echo "chosen lane $best_lane (lr=${lrs[$best_lane]}) at $chosen_loss; $(grep '^utilization' "$base/full.txt")"
[ "$best_lane" = "$alone_best" ] || fail "chosen lane $best_lane, but lane $alone_best is best trained alone"
awk -v a="$chosen_loss" -v b="$alone_best_loss" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-3) }' \
  || fail "the chosen lane ends at $chosen_loss in the lanes run but at $alone_best_loss trained alone"
[[ " $(runner_up_lanes "$base/full.txt")" == *" $best_lane "* ]] \
  || fail "the chosen lane $best_lane was never promoted as a runner-up: the run does not test runners-up"

# 3. The control: without runners-up the late lane stays paused and a worse lane is chosen.
start=$SECONDS
lanes --dir "$base/plain" --set policy.promote_runners_up=false >"$base/plain.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$base/plain.log"; fail "kachi lanes (promote_runners_up=false) exited $rc"; }
"$kachi" lanes --journal "$base/plain" >"$base/plain.txt" || fail "kachi lanes --journal failed (control)"
check runners_up "$base/plain.txt" >/dev/null 2>&1 && fail "the control run (promote_runners_up=false) promoted a runner-up"
plain_lane=$(grep '^best_lane' "$base/plain.txt" | awk '{print $2}')
echo "control (promote_runners_up=false, $((SECONDS - start)) s): chose lane $plain_lane" \
  "(lr=${lrs[$plain_lane]}) at $(finish_loss "$base/plain.txt" "$plain_lane"), ${alone[$plain_lane]} trained alone"
[ "$plain_lane" != "$alone_best" ] || fail "the control chose the best lane too: this case does not need runners-up"

# 4. Killed right after the chosen lane's first runner-up promotion, then --resume: replayed, same end.
promoted_best() { [[ " $(runner_up_lanes "$1")" == *" $best_lane "* ]]; }
first_promotion=$(awk -v l="$best_lane" '$1 == "runner-up" && $3 == l {print $5; exit}' <<<"$promotions")
lanes_kill_until "$first_promotion" "lane $best_lane's runner-up promotion" promoted_best
killed=$(check runners_up "$base/cut.txt") || fail "the killed run's runner-up promotions are inconsistent"
echo "killed after event $exit_at, runner-up promotions so far: $(wc -l <<<"$killed")"
lanes_resume_keeps_prefix
resumed=$(check runners_up "$base/resumed.txt") || fail "after the resume a runner-up promotion is inconsistent"
[ "$(head -n "$(wc -l <<<"$killed")" <<<"$resumed")" = "$killed" ] \
  || fail "the resumed journal's runner-up promotions do not begin with the killed run's"
check chain "$base/resumed.txt" || fail "the lanes' chunks do not chain across the resume"
grep -q "^best_lane $best_lane " "$base/resumed.txt" || fail "the resumed run chose another lane"
resumed_loss=$(finish_loss "$base/resumed.txt" "$best_lane")
awk -v a="$resumed_loss" -v b="$chosen_loss" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-3) }' \
  || fail "lane $best_lane ends at $resumed_loss after the resume but at $chosen_loss uninterrupted"
echo "resumed run: $(wc -l <<<"$resumed") runner-up promotions, lane $best_lane chosen at $resumed_loss" \
  "(uninterrupted $chosen_loss)"
echo "all kachi lanes runners-up checks passed"
