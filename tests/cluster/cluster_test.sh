#!/usr/bin/env bash
# Issue 14 items 1 and 2 on an emulated cluster (scripts/cluster.sh, cluster "kn" on 10.211.0.0/24) of HOSTS hosts x
# 2 ranks, OpenMPI launching into each host's network namespace (TCP between hosts, shared memory inside):
#  - `kachi env` reports the right host for every rank under --map-by slot (rank r on host r / 2) and --map-by node
#    (rank r on host r % HOSTS);
#  - `kachi train` (tiny GPT, 6 steps) with dp across hosts and tp = 2 inside, under --map-by slot and under
#    --map-by node, logs each TP group on one host ("TP groups on hosts: kn1 [0,1] ..." resp. "kn1 [0,HOSTS] ...")
#    and has the single-rank run's losses within 1e-5 relative;
#  - 3 ranks on kn1 and 1 on kn2 with tp = 2 is refused, the message naming the hosts and their ranks;
#  - (HOSTS = 2) `kachi lanes` with tp = 2 lanes on the 4 cards (pool.cards_per_node = 0: nodes from the hosts):
#    completes, and no chunk of the journal has a TP group of cards on two hosts.
# Usage: cluster_test.sh KACHI MPIRUN SOURCE_DIR HOSTS. Exit 77 (skipped) where network namespaces are refused.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
kachi=$(readlink -f "$1")
source_dir=$3
hosts=$4
kachi_cluster_base "$source_dir" kn kachi_cluster
kachi_cluster_up "$hosts" 10.211.0
# shellcheck disable=SC1091
source "$state/env"
ranks=$((2 * hosts))
run() { mpirun --hostfile "$state/hostfile" "$@"; }

# 1. kachi env: the host of every rank, by slot and by node.
for map in slot node; do
  out=$(run -np $ranks --map-by $map "$kachi" env 2>&1) || { echo "$out"; fail "kachi env (--map-by $map) failed"; }
  for ((r = 0; r < ranks; r++)); do
    if [[ $map == slot ]]; then h=$((r / 2)); else h=$((r % hosts)); fi
    grep -qE "^rank=$r world=$ranks .* node=$h:kn$((h + 1)) " <<<"$out" \
      || { echo "$out"; fail "--map-by $map: rank $r should be on node $h:kn$((h + 1))"; }
  done
  echo "kachi env --map-by $map: every rank on its host"
done

# 2. Train equivalence: dp across hosts, tp 2 inside, against one rank.
RANDOM=20261204
kachi_word_shards "$kachi" "$base" 6000
kachi_tp2_reference "$kachi" "$base" $((4 * hosts))
for map in slot node; do
  if [[ $map == slot ]]; then
    expected=$(for ((h = 0; h < hosts; h++)); do printf 'kn%d [%d,%d] ' $((h + 1)) $((2 * h)) $((2 * h + 1)); done)
  else
    expected=$(for ((h = 0; h < hosts; h++)); do printf 'kn%d [%d,%d] ' $((h + 1)) $h $((h + hosts)); done)
  fi
  expected=${expected% }
  run -np $ranks --map-by $map "$kachi" train "$base/run.pbtxt" --set "train.metrics=$base/$map.jsonl" \
    >"$base/$map.log" 2>&1 || { cat "$base/$map.log"; fail "kachi train --map-by $map failed"; }
  grep -qF "TP groups on hosts: $expected" "$base/$map.log" \
    || { grep 'TP groups' "$base/$map.log"; fail "--map-by $map: expected TP groups '$expected'"; }
  kachi_same_losses "$base/one.jsonl" "$base/$map.jsonl" || fail "--map-by $map: losses differ from the single-rank run"
  echo "kachi train --map-by $map (dp $hosts x tp 2): TP groups $expected, losses equal to one rank's"
done

# 3. Uneven hosts: 3 ranks on kn1, 1 on kn2, tp 2: refused, naming hosts and ranks.
cat >"$base/uneven.pbtxt" <<CONFIG
comm { backend: MPI deadline_s: 60 }
model { preset: "tiny" layers: 2 heads: 4 width: 32 vocab_size: 256 context: 32 }
parallel { tp: 2 }
train { seq_len: 32 global_batch: 8 micro_batch: 2 steps: 2 }
data { train: "$base/data/train_*.bin" }
CONFIG
mpirun --host kn1:3,kn2:1 -np 4 "$kachi" train "$base/uneven.pbtxt" >"$base/uneven.log" 2>&1 \
  && { cat "$base/uneven.log"; fail "3 + 1 ranks with tp 2 trained instead of being refused"; }
grep -qF "kn1 (3 ranks: 0, 1, 2), kn2 (1 rank: 3)" "$base/uneven.log" \
  || { cat "$base/uneven.log"; fail "the refusal does not name kn1's ranks 0, 1, 2 and kn2's rank 3"; }
echo "3 + 1 ranks with tp 2: refused ($(grep -m1 -o 'a TP group of 2 ranks must lie on one host' "$base/uneven.log"))"

# 4. Lanes across 2 hosts: TP lanes never straddle (from the journal).
if [[ $hosts -eq 2 ]]; then
  cat >"$base/lanes.pbtxt" <<CONFIG
base {
  comm { backend: MPI deadline_s: 60 }
  model { preset: "tiny" layers: 2 heads: 4 width: 32 vocab_size: 256 context: 32 }
  parallel { tp: 2 }
  train { seq_len: 32 global_batch: 8 micro_batch: 2 steps: 12 log_every: 0 eval_windows: 8 }
  data { train: "$base/data/train_*.bin" val: "$base/data/val_*.bin" }
  optimizer { warmup_steps: 2 weight_decay: 0.0 grad_clip: 0.0 eps: 1e-6 }
  checkpoint { dir: "$base/lanes" }
}
pool { cards: 0 cards_per_node: 0 }
policy { min_steps: 4 eta: 3 widen_min_remaining_steps: 2 }
search { grid { field: "optimizer.lr" values: "1e-3" values: "3e-3" values: "2e-3" } }
CONFIG
  start=$SECONDS
  run -np 4 "$kachi" lanes "$base/lanes.pbtxt" --dir "$base/lanes" >"$base/lanes.log" 2>&1 \
    || { tail -30 "$base/lanes.log"; fail "kachi lanes across 2 hosts failed"; }
  journal=$("$kachi" lanes --journal "$base/lanes") || fail "kachi lanes --journal failed"
  grep -q '^complete 1$' <<<"$journal" || fail "the lanes journal is not complete"
  # Card c runs on host c / 2 (by slot); every chunk's cards, in grid order, form TP pairs on one host.
  runs=$(grep -E '^event [0-9]+ run lane ' <<<"$journal")
  [[ -n $runs ]] || fail "no chunk in the journal"
  bad=$(sed -E 's/.* cards \[([0-9,]*)\].*/\1/' <<<"$runs" | awk -F, '{
    for (i = 1; i < NF; i += 2) if (int($i / 2) != int($(i + 1) / 2)) { print $0; break } }')
  [[ -z $bad ]] || fail "TP lanes straddle hosts in chunks with cards: $bad"
  echo "kachi lanes across 2 hosts: $(wc -l <<<"$runs") chunks, no TP lane straddles a host ($((SECONDS - start)) s)"
fi
echo "PASS: $hosts emulated hosts"
