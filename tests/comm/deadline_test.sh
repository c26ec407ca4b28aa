#!/usr/bin/env bash
# Shell-driven deadline tests for the comm watchdog (run by ctest with the MPI test environment):
#   deadline_test.sh MPIRUN NP PROBE skip VICTIM DEADLINE_S
#     one rank skips collective #5: the job must exit non-zero within DEADLINE_S + 10 s and print the DEADLINE line
#     naming rank, op, sequence and bytes, and the skipping rank among those that did not arrive.
#   deadline_test.sh MPIRUN NP PROBE kill VICTIM DEADLINE_S
#     one rank SIGKILLs itself at collective #5: the job must exit non-zero on all ranks within 20 s (well before
#     the watchdog deadline, which should be long).
set -u
if [[ $# -ne 6 ]]; then
  echo "usage: $0 MPIRUN NP PROBE skip|kill VICTIM DEADLINE_S" >&2
  exit 2
fi
mpirun=$1 np=$2 probe=$3 mode=$4 victim=$5 deadline=$6
log=$(mktemp)
trap 'rm -f "$log"' EXIT

start_ms=$(( $(date +%s%N) / 1000000 ))
timeout -k 5 90 "$mpirun" -np "$np" "$probe" "$mode" "$victim" "$deadline" >"$log" 2>&1
rc=$?
elapsed_ms=$(( $(date +%s%N) / 1000000 - start_ms ))
elapsed=$(printf "%d.%03d" $((elapsed_ms / 1000)) $((elapsed_ms % 1000)))
echo "--- job output (exit code $rc after ${elapsed} s) ---"
cat "$log"
echo "---"

fail() { echo "FAIL: $*" >&2; exit 1; }
[[ $rc -ne 0 ]] || fail "the job exited 0; expected a non-zero exit"
if [[ $mode == skip ]]; then
  limit=$((deadline + 10))
  (( elapsed_ms <= limit * 1000 )) || fail "the job took ${elapsed} s; expected <= ${limit} s"
  pattern="kachi: DEADLINE rank [0-9]+ of $np \(comm world, mpi\): all_reduce #5 of 4194304 bytes did not complete"
  pattern+=" after [0-9.]+ s \(deadline ${deadline}\.0 s\); ranks not arrived: .*\b$victim \(after #4 all_reduce\)"
  grep -Eq "$pattern" "$log" || fail "no DEADLINE line naming rank, op, sequence, bytes and rank $victim as missing"
  if grep -E "kachi: DEADLINE" "$log" | grep -Eq "rank $victim of"; then
    fail "the skipping rank $victim reported a deadline although it issued no collective"
  fi
else
  (( elapsed_ms <= 20000 )) || fail "the job took ${elapsed} s after a rank died; expected <= 20 s"
fi
echo "PASS: $mode at np $np ended with exit code $rc after ${elapsed} s"
