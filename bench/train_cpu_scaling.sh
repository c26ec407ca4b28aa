#!/usr/bin/env bash
# CPU training throughput of the main job's model (configs/fortunes_cpu.pbtxt) at 1, 2 and 4 ranks, each layout
# beside the 1-rank run measured in the same script: median tokens/s over steps 2..N (step 1 warms caches).
#   bash bench/train_cpu_scaling.sh [STEPS]      (needs build/kachi and data/fortunes from scripts/main.sh)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
steps=${1:-30}
kachi=${KACHI_BUILD_DIR:-$repo/build}/kachi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
export OMPI_MCA_hwloc_base_binding_policy=none
cd "$repo"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "# kachi train throughput, configs/fortunes_cpu.pbtxt (0.84M params, global batch 16 x 128 tokens), $steps steps, $(nproc) cores"
printf "# %-6s %-4s %-4s %-6s %10s %12s %8s\n" ranks dp tp zero1 "ms/step" "tokens/s" "vs 1"
base=""
for layout in "1 1 false" "2 1 false" "1 2 false" "4 1 false" "2 2 true" "1 4 false"; do
  read -r dp tp zero1 <<<"$layout"
  ranks=$((dp * tp))
  micro=$((16 / dp < 8 ? 16 / dp : 8))
  mpirun -np "$ranks" --oversubscribe "$kachi" train configs/fortunes_cpu.pbtxt --set parallel.tp="$tp" \
    --set parallel.zero1="$zero1" --set train.micro_batch="$micro" --set train.steps="$steps" \
    --set train.eval_windows=0 --set train.log_every=0 --set train.save_weights= \
    --set train.metrics="$tmp/m$ranks-$tp.jsonl" >/dev/null
  ms=$(python3 -c "
import json,statistics,sys
rows=[json.loads(l) for l in open(sys.argv[1]) if '\"ms\"' in l][1:]
print(statistics.median(r['ms'] for r in rows))" "$tmp/m$ranks-$tp.jsonl")
  tps=$(python3 -c "print(16*128/($ms/1000))")
  [[ -n $base ]] || base=$tps
  printf "  %-6s %-4s %-4s %-6s %10.1f %12.0f %8.2f\n" "$ranks" "$dp" "$tp" "$zero1" "$ms" "$tps" \
    "$(python3 -c "print($tps/$base)")"
done
