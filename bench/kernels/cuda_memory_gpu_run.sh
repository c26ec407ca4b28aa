#!/usr/bin/env bash
# One GPU-machine call for family cuda_memory: configure for Hopper, build only this family's targets, run its
# tests (GPU tests run there instead of skipping), the benchmark (ceilings + kernel table), and compute-sanitizer
# memcheck on the tests. Logs go to $1 (default ./gpu-logs); the summary is printed last.
#   bash bench/kernels/cuda_memory_gpu_run.sh "$OUT"      (abseil in .deps/absl, see scripts/gpu_check.sh)
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
logs=$(mkdir -p "${1:-$repo/gpu-logs}" && cd "${1:-$repo/gpu-logs}" && pwd)
build=${KACHI_BUILD_DIR:-/tmp/b}
export LD_LIBRARY_PATH=$repo/.deps/absl/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
tests="cuda_memory_adamw_test cuda_memory_gelu_test cuda_memory_layernorm_test cuda_memory_position_embedding_test
  cuda_memory_residual_layernorm_test cuda_memory_sum_of_squares_test cuda_memory_token_embedding_test"

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv >"$logs/gpu.txt" 2>&1
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DCMAKE_PREFIX_PATH="$repo/.deps/absl/usr" >"$logs/cmake.txt" 2>&1 || { tail -30 "$logs/cmake.txt"; exit 1; }
# shellcheck disable=SC2086
cmake --build "$build" --target bench_cuda_memory $tests -j16 >"$logs/build.txt" 2>&1 ||
  { grep -B2 -A8 "error" "$logs/build.txt" | head -60; exit 1; }
echo "build ok"

(cd "$build" && ctest -R cuda_memory --output-on-failure) >"$logs/ctest.txt" 2>&1
"$build/kernels/bench_cuda_memory" >"$logs/bench.txt" 2>&1 || true
if command -v compute-sanitizer >/dev/null || [ -x /usr/local/cuda/bin/compute-sanitizer ]; then
  sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  for t in $tests; do
    echo "== $t" >>"$logs/sanitizer.txt"
    timeout 60 "$sanitizer" --tool memcheck --error-exitcode 9 "$build/tests/cuda_memory/$t" \
      >>"$logs/sanitizer.txt" 2>&1
    echo "exit $? ($t)" >>"$logs/sanitizer.txt"
  done
  timeout 60 "$sanitizer" --tool racecheck --error-exitcode 9 "$build/tests/cuda_memory/cuda_memory_layernorm_test" \
    >"$logs/racecheck.txt" 2>&1
  echo "racecheck exit $?" >>"$logs/racecheck.txt"
else
  echo "compute-sanitizer not found" >"$logs/sanitizer.txt"
fi

cat "$logs/gpu.txt"
grep -E "^exit|^racecheck exit|ERROR SUMMARY" "$logs/sanitizer.txt" "$logs/racecheck.txt" 2>/dev/null | sort | uniq -c
grep -E "FAILED|Failure|error|Expected|Which is|\|\|out" "$logs/ctest.txt" | head -40
tail -4 "$logs/ctest.txt"
cat "$logs/bench.txt"
