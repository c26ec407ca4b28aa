#!/usr/bin/env bash
# Issue 14 item 1, Slurm: slurmctld + one slurmd per emulated host (scripts/cluster.sh slurm-up, cluster "kn" on
# 10.211.0.0/24, 2 hosts x 2 CPUs, munge). Checks that `srun --mpi=pmix -N 2 --ntasks-per-node=2 kachi env` puts
# ranks 0, 1 on kn1 and 2, 3 on kn2 (block) and 0, 2 on kn1 and 1, 3 on kn2 with -m cyclic, and that
# `sbatch -N 2 --ntasks-per-node=2 launcher/slurm/train.sbatch` (elastic wrapper, srun launcher) completes a tiny
# dp 2 x tp 2 run with each TP group on one host and the single-rank run's losses (1e-5 relative).
# Usage: slurm_test.sh KACHI SOURCE_DIR. Exit 77 (skipped) where namespaces are refused or Slurm/munge are missing.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
kachi=$(readlink -f "$1")
source_dir=$(readlink -f "$2")
kachi_cluster_base "$source_dir" kn kachi_cluster_slurm
kachi_cluster_up 2 10.211.0
timeout 60 "${cluster[@]}" slurm-up --name kn
rc=$?
[[ $rc -eq 77 ]] && exit 77
[[ $rc -eq 0 ]] || fail "Slurm did not come up on the emulated cluster"
# shellcheck disable=SC1091
source "$state/env"
# shellcheck disable=SC1091
source "$state/slurm/env"

# srun inside an allocation (srun runs on kn1, inside the emulated cluster).
cat >"$base/env.sh" <<SH
#!/bin/bash
srun --mpi=pmix "$kachi" env
echo cyclic
srun --mpi=pmix -m cyclic "$kachi" env
SH
timeout 90 sbatch --wait -N 2 --ntasks-per-node=2 -o "$base/env.out" "$base/env.sh" >/dev/null \
  || { cat "$base/env.out"; fail "the srun job failed"; }
block=$(sed '/^cyclic$/q' "$base/env.out")
cyclic=$(sed -n '/^cyclic$/,$p' "$base/env.out")
for r in 0 1 2 3; do
  grep -qE "^rank=$r world=4 .* node=$((r / 2)):kn$((r / 2 + 1)) .*source=slurm" <<<"$block" \
    || { cat "$base/env.out"; fail "srun (block): rank $r is not on kn$((r / 2 + 1))"; }
  grep -qE "^rank=$r world=4 .* node=[01]:kn$((r % 2 + 1)) .*source=slurm" <<<"$cyclic" \
    || { cat "$base/env.out"; fail "srun -m cyclic: rank $r is not on kn$((r % 2 + 1))"; }
done
echo "srun --mpi=pmix -N 2: every rank on its host (block and cyclic)"

# sbatch of the train script across the 2 hosts.
RANDOM=20261204
kachi_word_shards "$kachi" "$base" 6000
kachi_tp2_reference "$kachi" "$base" 8
start=$SECONDS
(cd "$source_dir" && KACHI=$kachi KACHI_ELASTIC_DIR=$base/elastic timeout 150 sbatch --wait -N 2 \
  --ntasks-per-node=2 -o "$base/train.out" launcher/slurm/train.sbatch "$base/run.pbtxt" \
  --set "train.metrics=$base/slurm.jsonl" >/dev/null) || { cat "$base/train.out"; fail "sbatch train.sbatch failed"; }
grep -qF "TP groups on hosts: kn1 [0,1] kn2 [2,3]" "$base/train.out" \
  || { cat "$base/train.out"; fail "the TP groups are not kn1 [0,1] kn2 [2,3]"; }
kachi_same_losses "$base/one.jsonl" "$base/slurm.jsonl" || fail "losses differ from the single-rank run"
echo "sbatch -N 2 --ntasks-per-node=2 launcher/slurm/train.sbatch: completed in $((SECONDS - start)) s"
echo "PASS: Slurm across 2 emulated hosts"
