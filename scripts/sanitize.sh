#!/usr/bin/env bash
# ASan + UBSan run of kachi (CPU-only, issue 13): builds build-asan (-fsanitize=address,undefined, no CUDA, ccache)
# with only the targets the chosen tests run, and runs those unit and mpirun tests under it; any sanitizer report
# fails the run (halt_on_error, UBSan without recovery). scripts/test.sh runs it after the main suite (CI).
# Usage: bash scripts/sanitize.sh [ctest -R regex]   (default: the subset below)
# Environment: KACHI_ASAN_BUILD_DIR (default build-asan), KACHI_ASAN_JOBS (default: nproc).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${KACHI_ASAN_BUILD_DIR:-$repo/build-asan}
jobs=${KACHI_ASAN_JOBS:-$(nproc)}
# The CPU kernels, data, io, checkpoint, config, comm, launcher and lanes unit tests; the mutation tests; and the
# mpirun tests of collectives, deadlines, bootstrap, dp x tp equivalence, resume, kill and a lost coordinator.
# (Left out: GPU, emulated-cluster and Slurm tests, and the slow end-to-end runs, to keep CI well under 30 minutes.)
default_subset='^(kernels_[a-z_]+_test|data_[a-z_]+_test|io_safetensors_test|io_hf_dir_test|config_test'
default_subset+='|ckpt_(unit|manifest_mutation|snapshot_write)_test|ckpt_resume_test_np4|ckpt_kill_test'
default_subset+='|comm_(watchdog|communicator|failure_watch|host_placement)_test|comm_mpi_collectives_test_np4'
default_subset+='|comm_deadline_(stop|kill)_np2|launcher_(discovery|world_check)_test|launcher_bootstrap_test_np4'
default_subset+='|lanes_(policy|simulator|journal|file|chunk_length|schedule_rungs|real_curves)_test|train_world_plan_test'
default_subset+='|failures_lanes_coordinator_stop_test|train_equivalence_test_np4|train_config_test_np1'
default_subset+='|train_config_mutation_test)$'
subset=${1:-$default_subset}
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$repo" -B "$build_dir" -G Ninja -DKACHI_WITH_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug "${launcher[@]}" \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined"
# The executables the chosen tests run (kachi and their gtest binaries), read from the add_test lines CMake wrote
# (ctest -N shows no command for a test whose executable is not built yet).
test_commands() {
  grep -rh '^add_test(' --include=CTestTestfile.cmake "$build_dir" |
    sed -E 's/^add_test\(\[=\[([^]]*)\]=\] (.*)\)$/\1 \2/' |
    while read -r name command; do [[ $name =~ $subset ]] && echo "$command"; done
}
mapfile -t targets < <(test_commands | tr ' ' '\n' | tr -d '"' | grep "^$build_dir/" | xargs -r -n1 basename | sort -u)
((${#targets[@]})) || { echo "sanitize.sh: no test matches '$subset'" >&2; exit 2; }
echo "sanitize.sh: building ${targets[*]}"
cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}"
# Open MPI keeps some allocations until exit by design: leaks are not checked (detect_leaks=0); every other error is.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98}
export CUDA_VISIBLE_DEVICES=
cd "$build_dir"
# Self-check: the same flags and options must catch a heap overflow and a signed overflow, or a clean run means
# nothing.
probe_dir=$(mktemp -d)
cat > "$probe_dir/probe.cc" <<'PROBE'
#include <cstdlib>
#include <vector>
int main(int argc, char**) {
  if (argc > 1) { int big = 2147483647; return big + argc; }  // UBSan: signed integer overflow
  std::vector<int> values(4, 1);
  return values.data()[4 + argc - 1];  // ASan: heap-buffer-overflow
}
PROBE
${CXX:-c++} $flags "$probe_dir/probe.cc" -o "$probe_dir/probe"
probe_asan=0; "$probe_dir/probe" > "$probe_dir/asan.txt" 2>&1 || probe_asan=$?
probe_ubsan=0; "$probe_dir/probe" x > "$probe_dir/ubsan.txt" 2>&1 || probe_ubsan=$?
if [[ $probe_asan != 99 ]] || ! grep -q "heap-buffer-overflow" "$probe_dir/asan.txt" ||
   [[ $probe_ubsan != 98 ]] || ! grep -q "signed integer overflow" "$probe_dir/ubsan.txt"; then
  echo "sanitize.sh: the sanitizer self-check failed (ASan exit $probe_asan, UBSan exit $probe_ubsan)" >&2
  cat "$probe_dir"/*.txt >&2
  exit 1
fi
rm -rf "$probe_dir"
echo "sanitize.sh: self-check ok (ASan and UBSan report and fail)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
ctest --output-on-failure -j "$jobs" -R "$subset" 2>&1 | tee "$log" || status=$?
if grep -qE "ERROR: AddressSanitizer|runtime error:" "$log"; then
  echo "sanitize.sh: sanitizer reports above" >&2
  status=1
fi
[[ $status == 0 ]] && echo "sanitize.sh: clean ($subset)"
exit "$status"
