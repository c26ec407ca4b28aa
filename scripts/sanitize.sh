#!/usr/bin/env bash
# ASan + UBSan run of kachi (CPU-only, issue 13): builds build-asan (-fsanitize=address,undefined, no CUDA, ccache)
# and runs the chosen unit and mpirun tests under it; any sanitizer report fails the run (halt_on_error, UBSan
# without recovery). Not part of scripts/test.sh: the instrumented build takes long on a small machine (run it in CI
# or before a release). Usage: bash scripts/sanitize.sh [ctest -R regex]   (default: the subset below)
# Environment: KACHI_ASAN_BUILD_DIR (default build-asan), KACHI_ASAN_JOBS (default: nproc).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${KACHI_ASAN_BUILD_DIR:-$repo/build-asan}
jobs=${KACHI_ASAN_JOBS:-$(nproc)}
# Unit tests of the checkpoint, config and comm layers, the mutation tests, and the np4 resume (MPI under ASan).
subset=${1:-'^(ckpt_unit_test|ckpt_manifest_mutation_test|ckpt_snapshot_write_test|config_test|train_config_test_np1|train_config_mutation_test|ckpt_kill_test|ckpt_resume_test_np4)$'}
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$repo" -B "$build_dir" -G Ninja -DKACHI_WITH_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug "${launcher[@]}" \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined"
cmake --build "$build_dir" -j "$jobs"
# Open MPI keeps some allocations until exit by design: leaks are not checked (detect_leaks=0); every other error is.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98}
export CUDA_VISIBLE_DEVICES=
cd "$build_dir"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
ctest --output-on-failure -R "$subset" 2>&1 | tee "$log" || status=$?
if grep -qE "ERROR: AddressSanitizer|runtime error:" "$log"; then
  echo "sanitize.sh: sanitizer reports above" >&2
  status=1
fi
[[ $status == 0 ]] && echo "sanitize.sh: clean ($subset)"
exit "$status"
