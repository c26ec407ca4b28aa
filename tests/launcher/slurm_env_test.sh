#!/usr/bin/env bash
# `srun --mpi=pmix -n 2 kachi env` on a private one-node Slurm cluster started by this script: ranks 0 and 1 of 2,
# discovered from Slurm. Also checks that `srun --mpi=none` (two separate one-rank MPI jobs) is refused rather
# than run as two worlds of 1.
#
# The cluster is private to this run (tests/launcher/slurm_cluster.sh), so it neither needs nor disturbs a system
# Slurm, and parallel runs do not collide.
# Usage: slurm_env_test.sh KACHI
set -uo pipefail
kachi=$(readlink -f "$1")
source "$(dirname "${BASH_SOURCE[0]}")/slurm_cluster.sh"

out=$(timeout 120 srun --mpi=pmix -n 2 -O "$kachi" env --backend mpi --set comm.deadline_s=60 2>&1) ||
  fail "srun --mpi=pmix -n 2 kachi env failed:"$'\n'"$out"
echo "$out"
lines=$(printf '%s\n' "$out" | grep -E '^rank=')
[[ $(printf '%s\n' "$lines" | wc -l) -eq 2 ]] || fail "expected two rank lines, got:"$'\n'"$out"
for rank in 0 1; do
  pattern="^rank=$rank world=2 local_rank=$rank local_size=2 node=0:localhost .*backend=mpi source=slurm\$"
  [[ $(printf '%s\n' "$lines" | sed -n "$((rank + 1))p") =~ $pattern ]] ||
    fail "rank $rank's line is wrong:"$'\n'"$out"
done

# Without a PMI plugin each task is its own MPI world: kachi must refuse, never run as two worlds of 1.
if none=$(timeout 120 srun --mpi=none -n 2 -O "$kachi" env --backend mpi 2>&1); then
  fail "srun --mpi=none -n 2 kachi env succeeded:"$'\n'"$none"
fi
echo "--- srun --mpi=none (expected to fail):"
echo "$none" | head -n 20
[[ $none != *"source=slurm"* ]] || fail "srun --mpi=none printed a rank line:"$'\n'"$none"

# A batch script that runs kachi itself (no srun, no mpirun) on a 2-task allocation: a one-rank MPI world where
# Slurm promised two tasks. kachi must say so.
chmod 777 "$base"  # the job's output file is written by slurmd as the submitting user
if timeout 120 sbatch --wait -n 2 -O -o "$base/batch.out" --wrap "'$kachi' env --backend mpi" >/dev/null 2>&1; then
  fail "a batch step running kachi without srun succeeded:"$'\n'"$(cat "$base/batch.out")"
fi
batch=$(cat "$base/batch.out" 2>/dev/null)
echo "--- kachi env run directly in a 2-task batch script (expected to fail):"
echo "$batch"
[[ $batch == *"SLURM_NTASKS=2 but MPI_Comm_size(MPI_COMM_WORLD)=1"* ]] ||
  fail "the batch step did not report the task-count contradiction:"$'\n'"$batch"

# mpirun inside an allocation is legitimate although SLURM_* and OMPI_* overlap: OpenMPI's ranks win.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
timeout 120 sbatch --wait -n 2 -O -o "$base/mpirun.out" --wrap "mpirun -np 2 '$kachi' env --backend mpi" \
  >/dev/null 2>&1 || fail "mpirun -np 2 kachi env inside sbatch failed:"$'\n'"$(cat "$base/mpirun.out")"
inside=$(grep -E '^rank=' "$base/mpirun.out")
echo "--- mpirun -np 2 kachi env inside sbatch:"
echo "$inside"
[[ $(printf '%s\n' "$inside" | sed -n 1p) =~ ^rank=0\ world=2\ .*source=openmpi$ &&
   $(printf '%s\n' "$inside" | sed -n 2p) =~ ^rank=1\ world=2\ .*source=openmpi$ ]] ||
  fail "mpirun inside sbatch printed:"$'\n'"$(cat "$base/mpirun.out")"
echo "PASS"
