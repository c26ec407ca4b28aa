#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: set up (scripts/setup.sh), turn the fortunes-min package's text into
# byte-level token shards (`kachi data`), train a small GPT on 4 CPU ranks as dp 2 x tp 2 with ZeRO-1
# (configs/fortunes_cpu.pbtxt), then print a generated sample (`kachi sample`). Extra arguments go to
# `kachi train`, e.g. bash scripts/main.sh --set train.steps=100
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/setup.sh"
kachi=${KACHI_BUILD_DIR:-$repo/build}/kachi

# mpirun as root on one box: allowed, shared-memory transport, no core binding (oversubscribed).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_hwloc_base_binding_policy=none
cd "$repo"
mkdir -p out
if ! ls data/fortunes/train_*.bin >/dev/null 2>&1; then
  fortunes=/usr/share/games/fortunes
  "$kachi" data --out data/fortunes "$fortunes/fortunes" "$fortunes/literature" "$fortunes/riddles"
fi
mpirun -np 4 --oversubscribe "$kachi" train configs/fortunes_cpu.pbtxt "$@"
echo "--- sample (kachi sample out/fortunes.safetensors) ---"
"$kachi" sample out/fortunes.safetensors --sample_prompt "A " --sample_tokens 300
