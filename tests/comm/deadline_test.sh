#!/usr/bin/env bash
# Shell-driven deadline tests for the comm watchdog (run by ctest with the MPI test environment):
#   deadline_test.sh MPIRUN NP PROBE skip VICTIM DEADLINE_S
#     one rank skips collective #5: the job must exit non-zero within DEADLINE_S + 10 s and print the DEADLINE line
#     naming rank, op, sequence and bytes, and the skipping rank among those that did not arrive.
#   deadline_test.sh MPIRUN NP PROBE stop VICTIM DEADLINE_S
#     one rank SIGSTOPs itself at collective #5 (it can answer nothing): every DEADLINE line must name it by world
#     rank and host as stopped, and the job must exit 86 within DEADLINE_S + 10 s.
#   deadline_test.sh MPIRUN NP PROBE grid VICTIM DEADLINE_S
#     as stop, on a 2 x (NP/2) grid of sub-communicators (tp pairs, then dp): bystanders that wait on the
#     victim's partner must still name the victim (world rank and host), never only a bystander.
#   deadline_test.sh MPIRUN NP PROBE kill VICTIM DEADLINE_S
#     one rank SIGKILLs itself at collective #5: the job must exit non-zero on all ranks within 20 s (well before
#     the watchdog deadline, which should be long), and kachi itself must name the dead rank by world rank and
#     host ("kachi: PEER LOST world rank V (host H)").
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
host=$(hostname)
if [[ $mode == skip || $mode == stop || $mode == grid ]]; then
  limit=$((deadline + 10))
  (( elapsed_ms <= limit * 1000 )) || fail "the job took ${elapsed} s; expected <= ${limit} s"
  [[ $rc -eq 86 ]] || fail "exit code $rc; expected 86 (deadline)"
  first=$(grep -E "kachi: DEADLINE" "$log" | head -1)
  [[ -n $first ]] || fail "no DEADLINE line"
  if [[ $mode == skip ]]; then
    pattern="kachi: DEADLINE world rank [0-9]+ \(host $host\), rank [0-9]+ of $np \(comm world, mpi\): all_reduce #5 of"
    pattern+=" 4194304 bytes did not complete after [0-9.]+ s \(deadline ${deadline}\.0 s\); not arrived: world rank"
    pattern+=" $victim \(host $host\): not in a collective \(last: all_reduce #4 on world\)"
  else
    pattern="kachi: DEADLINE world rank [0-9]+ \(host $host\), .*; stopped or unreachable \(no answer\): world rank"
    pattern+=" $victim \(host $host\)"
  fi
  grep -Eq "$pattern" <<<"$first" || fail "the first DEADLINE line does not name world rank $victim (host $host): $first"
  if grep -E "kachi: DEADLINE" "$log" | grep -Eq "DEADLINE world rank $victim "; then
    fail "the misbehaving rank $victim reported a deadline although it issued no collective"
  fi
else
  grep -Eq "kachi: PEER LOST world rank $victim \(host $host\) died" "$log" ||
    fail "no 'kachi: PEER LOST world rank $victim (host $host)' line"
  (( elapsed_ms <= 20000 )) || fail "the job took ${elapsed} s after a rank died; expected <= 20 s"
fi
echo "PASS: $mode at np $np ended with exit code $rc after ${elapsed} s"
