#!/usr/bin/env bash
# Issue 16 item 5, GPU side: kernels_default_test.sh in gpu mode (with train.kernels unset and a GPU bound, `kachi
# train` runs kachi's CUDA kernels; head size 32 falls back to the CPU kernels with the reason). Skipped (exit 77)
# without a GPU or in a CPU-only build.
# Usage: kernels_default_gpu_test.sh KACHI CUDA_BUILD(1|0)
set -uo pipefail
. "$(dirname "$0")/../gpu_skip.sh"
kachi_skip_without_gpu
if [[ $2 != 1 ]]; then
  if [[ ${KACHI_REQUIRE_GPU:-0} != 0 ]]; then
    echo "FAIL: KACHI_REQUIRE_GPU set but kachi is a CPU-only build"
    exit 1
  fi
  echo "SKIPPED: CPU-only build (no CUDA kernels to default to)"; exit 77
fi
exec bash "$(dirname "$0")/kernels_default_test.sh" "$1" gpu
