#!/usr/bin/env bash
# launcher/slurm/train.sbatch on a private one-node Slurm cluster (tests/launcher/slurm_cluster.sh): 4 tasks train
# the main job's model for a few steps on byte shards made by `kachi data`, with dp 2 x tp 2 discovered from Slurm;
# the job must finish, log every step and save the weights.
# Usage: slurm_train_test.sh KACHI REPO
set -uo pipefail
kachi=$(readlink -f "$1")
repo=$(readlink -f "$2")
source "$(dirname "${BASH_SOURCE[0]}")/slurm_cluster.sh"
chmod 777 "$base"  # the job's output is written by slurmd as the submitting user

# Training text: random words (fresh each run), so the test does not depend on any package's files.
words=(card pool lane rank tensor shard token batch step loss)
for _ in $(seq 12000); do printf '%s ' "${words[RANDOM % 10]}"; done >"$base/text.txt"
"$kachi" data --out "$base/data" "$base/text.txt" >/dev/null || fail "kachi data failed"

(cd "$repo" && timeout 240 sbatch --wait -n 4 -O -o "$base/train.out" --export=ALL,KACHI="$kachi" \
  launcher/slurm/train.sbatch configs/fortunes_cpu.pbtxt --set train.steps=6 --set train.log_every=1 \
  --set train.eval_every=0 --set "data.train=$base/data/train_*.bin" --set "data.val=$base/data/val_*.bin" \
  --set "train.metrics=" --set "train.save_weights=$base/weights.safetensors" >/dev/null 2>&1) ||
  fail "sbatch train.sbatch failed:"$'\n'"$(cat "$base/train.out" 2>/dev/null)"
out=$(cat "$base/train.out")
echo "$out"
[[ $out == *"dp 2 x tp 2"* ]] || fail "the job did not train as dp 2 x tp 2"
for step in 1 2 3 4 5 6; do
  [[ $out == *"step     $step/6 | loss"* ]] || fail "no progress line for step $step"
done
[[ -s $base/weights.safetensors ]] || fail "the weights were not saved"
echo "PASS"
