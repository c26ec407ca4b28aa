#!/usr/bin/env bash
# Issue 14 item 3, lanes: host loss during `kachi lanes` on an emulated cluster of 4 hosts x 2 ranks
# (scripts/cluster.sh, cluster "kf" on 10.212.0.0/24). `scripts/kachi-elastic.sh --lanes` runs the eight tiny lanes
# of configs/lanes_tiny_cpu.pbtxt with tp 2 (every replica a gang of 2 cards, one host each) on the 8 cards; once
# the journal holds a few events every rank of kf4 is killed (kill -9). The wrapper must name kf4 lost and resume
# the lanes from their journal on the 6 cards of kf1..kf3 (launcher/lanes/journal_repool.h); the run must complete.
# From `kachi lanes --journal`: a repool to 6 cards recorded at the first event of the resumed session, every chunk
# after it on cards 0..5, every tp gang inside one host (cards 2h, 2h+1), and each lane's chunks chaining step to
# step across the loss (tests/lanes/journal_check.py chain: no lane restarts earlier than its last journaled
# checkpoint, nor later).
# Usage: lanes_host_loss_test.sh KACHI MPIRUN SOURCE_DIR. Exit 77 (skipped) where namespaces are refused.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
kachi=$(readlink -f "$1")
source_dir=$3
kachi_cluster_base "$source_dir" kf kachi_lanes_host_loss elastic.log
kachi_cluster_up 4 10.212.0

RANDOM=20261203
kachi_word_shards "$kachi" "$base" 20000
deadline=10
(
  # shellcheck disable=SC1091
  source "$state/env"
  KACHI_ELASTIC_DIR=$base/elastic exec bash "$source_dir/scripts/kachi-elastic.sh" --lanes \
    --hostfile "$state/hostfile" --kachi "$kachi" --max_restarts 2 -- "$source_dir/configs/lanes_tiny_cpu.pbtxt" \
    --set "base.data.train=$base/data/train_*.bin" --set "base.data.val=$base/data/val_*.bin" \
    --set base.comm.deadline_s=$deadline --set base.parallel.tp=2 --set base.train.steps=36 \
    --set pool.cards_per_node=2 --dir "$base/run"
) >"$base/elastic.log" 2>&1 &
job=$!

events() { "$kachi" lanes --journal "$base/run" 2>/dev/null | grep -c '^event [0-9]* at '; }
for _ in $(seq 1800); do
  (($(events) >= 6)) && break
  kill -0 "$job" 2>/dev/null || fail "the lanes run ended before its journal held 6 events"
  sleep 0.1
done
(($(events) >= 6)) || fail "the journal did not reach 6 events within 180 s"
pids=()
for p in $(ip netns pids kf4); do [[ $(cat "/proc/$p/comm" 2>/dev/null) == kachi ]] && pids+=("$p"); done
((${#pids[@]} == 2)) || fail "expected 2 kachi ranks on kf4, found ${#pids[@]}"
kill -9 "${pids[@]}"
echo "killed kf4 after $(events) journal events"

wait "$job"
rc=$?
job=
[[ $rc -eq 0 ]] || fail "the elastic lanes run exited $rc"
grep -q "host(s) lost: kf4" "$base/elastic.log" || fail "kf4 was not reported lost"
grep -q "attempt 1: 6 ranks on kf1 kf2 kf3" "$base/elastic.log" || fail "attempt 1 is not 6 ranks on kf1 kf2 kf3"
grep -q "lanes completed (attempt 1)" "$base/elastic.log" || fail "no completion after attempt 1"
grep -q "kachi lanes: the pool changed from 8 to 6 cards" "$base/elastic.log" || fail "no pool change reported"
grep -E "^kachi-elastic:|kachi lanes: (the pool|resumed)" "$base/elastic.log"

"$kachi" lanes --journal "$base/run" >"$base/journal.txt" || fail "kachi lanes --journal failed"
python3 "$source_dir/tests/lanes/journal_check.py" chain "$base/journal.txt" || fail "chunks do not chain across the loss"
python3 - "$base/journal.txt" <<'PY' || fail "journal checks failed"
import re, sys
text = open(sys.argv[1]).read().splitlines()
repools = [tuple(map(int, m.groups())) for m in map(re.compile(r"^repool at event (\d+) cards (\d+) cards_per_node (\d+)$").match, text) if m]
assert len(repools) == 1 and repools[0][1:] == (6, 2), f"expected one repool to 6 cards of 2 per node: {repools}"
first = repools[0][0]
sessions = {int(m.group(1)): int(m.group(2)) for m in map(re.compile(r"^event (\d+) at \S+ session (\d+)$").match, text) if m}
assert sessions[first] == sessions[first - 1] + 1, "the repool is not at the first event of the resumed session"
assert "complete 1" in text, "the journal is not complete"
after = 0
for m in map(re.compile(r"^event (\d+) run lane (\d+) cards \[([0-9,]*)\]").match, text):
    if not m:
        continue
    event, lane, cards = int(m.group(1)), int(m.group(2)), [int(c) for c in m.group(3).split(",")]
    assert len(cards) % 2 == 0, f"lane {lane} holds {cards}"
    for g in range(0, len(cards), 2):
        assert cards[g] // 2 == cards[g + 1] // 2, f"event {event}: lane {lane}'s tp gang {cards[g:g+2]} straddles hosts"
    if event >= first:
        after += 1
        assert max(cards) < 6, f"event {event}: lane {lane} on {cards} after the pool shrank to 6 cards"
assert after > 0, "no chunk ran after the repool"
print(f"repool at event {first} to 6 cards; {after} chunks after it, every tp gang inside a host")
PY
echo "PASS: lanes resumed from their journal on the 3 hosts left and completed"
