#!/usr/bin/env bash
# Lanes progress independently (issue 6, "Execution"): `mpirun -np 4 kachi lanes configs/lanes_tiny_cpu.pbtxt` with
# lane lr=1e-4 (lane 0, started first on card 0) made slow by the test hook --test_slow_lane (it sleeps
# after each step). Checks from the journal's timestamps (journal_check.py): while the slow lane's chunk is in
# flight, the other lanes run several whole chunks and reach rungs, and the other cards are kept busy (with
# synchronous rounds every round would wait for the slow chunk, so no chunk of another lane could fit inside it);
# no card is idle while a runnable lane waits for cards (promoted or never started, its chunk not begun; a small
# allowance for the coordinator's dispatch latency); the run completes with chained chunks and the usual choice.
# Usage: lanes_async_test.sh KACHI MPIRUN SOURCE_DIR
set -uo pipefail
kachi=$(readlink -f "$1")
mpirun=$2
source_dir=$3
export CUDA_VISIBLE_DEVICES=  # a CPU test
base=$(mktemp -d /tmp/kachi_lanes_async_XXXXXX)
trap 'rm -rf "$base"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
check() { python3 "$source_dir/tests/lanes/journal_check.py" "$@"; }
lanes_file=$source_dir/configs/lanes_tiny_cpu.pbtxt

RANDOM=20261122  # seeded text: random words
words=(card pool lane rank tensor shard token batch step loss)
for _ in $(seq 20000); do printf '%s ' "${words[RANDOM % 10]}"; done >"$base/text.txt"
"$kachi" data --out "$base/data" "$base/text.txt" >/dev/null || fail "kachi data failed"
data=(--set "base.data.train=$base/data/train_*.bin" --set "base.data.val=$base/data/val_*.bin")

# A misnamed slow lane is a clear error, not a silently normal run.
"$mpirun" --oversubscribe -np 2 "$kachi" lanes "$lanes_file" "${data[@]}" --dir "$base/bad" \
  --test_slow_lane nosuchlane:10 >"$base/bad.log" 2>&1 && fail "a bad hook ran"
grep -q "no lane named 'nosuchlane'" "$base/bad.log" || { cat "$base/bad.log"; fail "no message for a bad hook"; }

start=$SECONDS
"$mpirun" --oversubscribe -np 4 "$kachi" lanes "$lanes_file" "${data[@]}" --dir "$base/run" \
  --test_slow_lane lr=1e-4:300 >"$base/run.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$base/run.log"; fail "kachi lanes exited $rc"; }
echo "run with a slow lane: $((SECONDS - start)) s"
"$kachi" lanes --journal "$base/run" >"$base/journal.txt" || fail "kachi lanes --journal failed"
grep -q '^complete 1$' "$base/journal.txt" || fail "the journal is not complete"
grep -E '^(utilization|best_lane)' "$base/journal.txt"
check chain "$base/journal.txt" || fail "the lanes' chunks do not chain"

# The slow lane's first chunk: 4 steps x 300 ms at least.
overlap=$(check overlap "$base/journal.txt" 0) || fail "no chunk of the slow lane"
echo "slow lane 0: $overlap"
read -r _ begin end _ inside _ targets _ busy <<<"$overlap"
awk -v b="$begin" -v e="$end" 'BEGIN { exit !(e - b >= 1.2) }' || fail "the slow chunk took under 1.2 s"
[ "$inside" -ge 4 ] || fail "only $inside chunks of other lanes ran inside the slow lane's chunk"
[ "$targets" -ge 3 ] || fail "only $targets rung reports of other lanes came during the slow lane's chunk"
# Synchronous rounds would leave the other cards busy only for their own short chunk (about 0.1 s of the >= 1.2 s),
# i.e. a fraction near 0.1-0.25. Asynchronous dispatch measures 0.85-0.95 on an idle box; the coordinator's dispatch
# gap between chunks (4 ranks oversubscribed on 2 cores, beside other ctest jobs) has brought it to 0.79 in CI, so
# the bar is 0.65: far above what synchronous rounds can reach, below what load does to asynchronous dispatch.
awk -v f="$busy" 'BEGIN { exit !(f >= 0.65) }' || fail "the other cards were busy only $busy of the slow chunk"

idle=$(check idle "$base/journal.txt" | awk '{print $2}')
echo "card-time idle while a runnable lane waited: $idle of the run"
awk -v f="$idle" 'BEGIN { exit !(f <= 0.03) }' || fail "cards idle while runnable lanes waited: $idle > 0.03"
grep -q '^best_lane 6 ' "$base/journal.txt" || fail "the slow run chose another lane than lr=3e-3"
echo "all kachi lanes async checks passed"
