#!/usr/bin/env bash
# `kachi env` end to end: a single process is rank 0 of 1; `mpirun -np 2` reports ranks 0 and 1 of 2 in rank
# order; a launcher variable contradicting MPI makes every rank fail with a message naming both.
# Usage: env_mpirun_test.sh KACHI MPIRUN   (ctest supplies the OMPI_* environment for running as root)
set -euo pipefail
kachi=$1
mpirun=$2

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_line OUTPUT LINE_NUMBER PATTERN: line LINE_NUMBER (1-based) of OUTPUT matches the extended regex PATTERN.
expect_line() {
  local line
  line=$(printf '%s\n' "$1" | sed -n "$2p")
  [[ $line =~ $3 ]] || fail "line $2 is '$line', expected /$3/ in:"$'\n'"$1"
}

# The MPI backend and device sharing keep the expected lines the same on CPU boxes and on a one-GPU machine.
single=$(env -u OMPI_COMM_WORLD_RANK "$kachi" env --backend mpi --set comm.deadline_s=20)
echo "$single"
[[ $(printf '%s\n' "$single" | wc -l) -eq 1 ]] || fail "single process printed more than one line"
expect_line "$single" 1 '^rank=0 world=1 local_rank=0 local_size=1 node=0:.* device=-?[0-9]+ backend=mpi source=single$'

two=$("$mpirun" -np 2 "$kachi" env --backend mpi --set comm.deadline_s=20 --set launcher.allow_device_sharing=true)
echo "$two"
[[ $(printf '%s\n' "$two" | wc -l) -eq 2 ]] || fail "mpirun -np 2 printed other than two lines"
expect_line "$two" 1 '^rank=0 world=2 local_rank=0 local_size=2 node=0:.* device=-?[0-9]+ backend=mpi source=openmpi$'
expect_line "$two" 2 '^rank=1 world=2 local_rank=1 local_size=2 node=0:.* device=-?[0-9]+ backend=mpi source=openmpi$'

# A launcher that claims 3 ranks while MPI has 2: every rank must refuse, naming both numbers.
if bad=$("$mpirun" -np 2 sh -c "OMPI_COMM_WORLD_SIZE=3 exec '$kachi' env" 2>&1); then
  fail "a world-size contradiction was accepted:"$'\n'"$bad"
fi
expected="launcher and MPI disagree on the world size: OMPI_COMM_WORLD_SIZE=3 but MPI_Comm_size(MPI_COMM_WORLD)=2"
for rank in 0 1; do
  [[ $bad == *"rank $rank: $expected"* ]] || fail "rank $rank did not report the contradiction:"$'\n'"$bad"
done
echo "PASS"
