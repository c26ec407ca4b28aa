#!/usr/bin/env bash
# Issue 13, defect 4: a stopped lanes coordinator must not hang the job. `mpirun -np 4 kachi lanes
# configs/lanes_tiny_cpu.pbtxt` with comm.deadline_s=4; once training runs, rank 0 (the coordinator's process) is
# SIGSTOPped. The job must end by itself within deadline + grace + 20 s, exit 86, and name what happened in kachi's
# own words: a worker's "COORDINATOR LOST ... (world rank 0, host H)" or a DEADLINE naming world rank 0 as stopped.
# Usage: lanes_coordinator_stop_test.sh KACHI MPIRUN SOURCE_DIR
set -uo pipefail
kachi=$(readlink -f "$1")
mpirun=$2
source_dir=$3
export CUDA_VISIBLE_DEVICES=
base=$(mktemp -d /tmp/kachi_lanes_stop_XXXXXX)
job=
cleanup() { [[ -n $job ]] && kill -9 "$job" 2>/dev/null; pkill -9 -P "$job" 2>/dev/null; rm -rf "$base"; }
trap cleanup EXIT
fail() { echo "--- job output ---"; cat "$base/run.log"; echo "FAIL: $*" >&2; exit 1; }

RANDOM=20261203
words=(card pool lane rank tensor shard token batch step loss)
for _ in $(seq 20000); do printf '%s ' "${words[RANDOM % 10]}"; done >"$base/text.txt"
"$kachi" data --out "$base/data" "$base/text.txt" >/dev/null || { echo "kachi data failed"; exit 1; }
: >"$base/run.log"
# One lane made slow (test hook: it sleeps 300 ms after each step) so the run lasts long enough to be stopped.
"$mpirun" --oversubscribe -np 4 "$kachi" lanes "$source_dir/configs/lanes_tiny_cpu.pbtxt" --test_slow_lane lr=1e-4:300 \
  --set "base.data.train=$base/data/train_*.bin" --set "base.data.val=$base/data/val_*.bin" \
  --set base.comm.deadline_s=4 --dir "$base/run" >"$base/run.log" 2>&1 &
job=$!
# Wait until the coordinator has dispatched work (its folder exists), then stop rank 0.
for _ in $(seq 600); do
  [[ -d $base/run ]] && break
  sleep 0.1
done
sleep 1
rank0=
for pid in $(pgrep -f "$kachi lanes"); do  # rank 0: the process whose environment says OMPI_COMM_WORLD_RANK=0
  if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=0; then rank0=$pid; fi
done
[[ -n $rank0 ]] || fail "rank 0 not found"
kill -STOP "$rank0"
stopped=$SECONDS
limit=$((4 + 3 + 20))
while kill -0 "$job" 2>/dev/null && (( SECONDS - stopped <= limit )); do sleep 0.2; done
if kill -0 "$job" 2>/dev/null; then
  kill -CONT "$rank0" 2>/dev/null
  fail "the job still runs $limit s after its coordinator was stopped (hang)"
fi
wait "$job"
rc=$?
job=
elapsed=$((SECONDS - stopped))
[[ $rc -eq 86 ]] || fail "exit code $rc; expected 86"
host=$(hostname)
grep -Eq "kachi: COORDINATOR LOST: lanes worker world rank [1-3] \(host $host\) heard nothing from the coordinator \(world rank 0, host $host\)|kachi: DEADLINE .*stopped or unreachable \(no answer\): world rank 0 \(host $host\)" \
  "$base/run.log" || fail "no kachi message naming the stopped coordinator (world rank 0, host $host)"
grep -E "kachi: (COORDINATOR LOST|DEADLINE)" "$base/run.log" | head -2
echo "PASS: the job ended ${elapsed} s after its coordinator stopped, exit $rc"
