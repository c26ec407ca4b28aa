#!/usr/bin/env bash
# One GPU-machine call for the cuda_matmul family: build its targets for Hopper, run its two test binaries and the
# benchmark, logs to $1 (default ./gpu-logs). Uses the project's configure; if that fails (another folder
# mid-edit), a minimal CMake project of just this family's sources and their CPU twins is built instead.
#   bash tests/cuda_matmul/gpu_run.sh "$OUT"        (abseil in .deps/absl, see scripts/gpu_check.sh)
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
logs=$(mkdir -p "${1:-$repo/gpu-logs}" && cd "${1:-$repo/gpu-logs}" && pwd)
build=${KACHI_BUILD_DIR:-/tmp/b}
absl=$repo/.deps/absl/usr
export LD_LIBRARY_PATH=$absl/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
targets="cuda_matmul_test cuda_cross_entropy_test bench_cuda_matmul"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv >"$logs/gpu.txt" 2>&1

if cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DCMAKE_PREFIX_PATH="$absl" >"$logs/cmake.txt" 2>&1; then
  test_dir=$build/tests/cuda_matmul
  bench=$build/kernels/bench_cuda_matmul
else
  echo "project configure failed (see cmake.txt); building the family alone"
  mini=/tmp/kachi_cuda_matmul_only && mkdir -p "$mini"
  cat >"$mini/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(kachi_cuda_matmul_only LANGUAGES C CXX CUDA)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CUDA_STANDARD 17)
find_package(CUDAToolkit REQUIRED)
find_package(absl REQUIRED)
find_package(GTest REQUIRED)
add_library(kachi_options INTERFACE)
target_include_directories(kachi_options INTERFACE $repo)
target_compile_definitions(kachi_options INTERFACE KACHI_WITH_CUDA=1)
add_library(kachi_kernels STATIC $repo/kernels/matmul.cc $repo/kernels/gelu.cc $repo/kernels/cross_entropy.cc)
target_link_libraries(kachi_kernels PUBLIC kachi_options)
add_library(kachi_kernels_cuda INTERFACE)
include($repo/kernels/cuda_matmul.cmake)
enable_testing()
function(kachi_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" \${ARGN})
  add_executable(\${name} \${ARG_SOURCES})
  target_link_libraries(\${name} PRIVATE GTest::gtest_main \${ARG_LIBS})
endfunction()
set(KACHI_CUDA ON)
add_subdirectory($repo/tests/cuda_matmul tests/cuda_matmul)
CMAKE
  cmake -S "$mini" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc -DCMAKE_PREFIX_PATH="$absl" >>"$logs/cmake.txt" 2>&1 ||
    { tail -30 "$logs/cmake.txt"; exit 1; }
  test_dir=$build/tests/cuda_matmul
  bench=$build/bench_cuda_matmul
fi
cmake --build "$build" --target $targets -j16 >"$logs/build.txt" 2>&1 ||
  { grep -B2 -A8 "error" "$logs/build.txt" | head -60; exit 1; }
echo "build ok"

"$test_dir/cuda_matmul_test" >"$logs/matmul_test.txt" 2>&1; echo "cuda_matmul_test rc=$?"
"$test_dir/cuda_cross_entropy_test" >"$logs/cross_entropy_test.txt" 2>&1; echo "cuda_cross_entropy_test rc=$?"
grep -hE "^\[  (PASSED|FAILED|SKIPPED) " "$logs/matmul_test.txt" "$logs/cross_entropy_test.txt"
grep -hE "Failure|Expected|Which is" "$logs/matmul_test.txt" | head -20
grep -h "epilogue paths" "$logs/matmul_test.txt" | tail -1
grep -hE "max-abs-rel" "$logs/cross_entropy_test.txt" | sort -k4 -g | tail -3
timeout 240 "$bench" >"$logs/bench.txt" 2>&1; echo "bench rc=$?"
cat "$logs/bench.txt"
