#!/usr/bin/env bash
# On a machine without a GPU: `ctest -L gpu` must list every GPU test (at least MIN_TESTS) and report each one
# Skipped (none Passed, none Failed); the same run under KACHI_REQUIRE_GPU=1 must report each one Failed; and the
# shell helper tests/gpu_skip.sh must exit 77, or 1 under KACHI_REQUIRE_GPU=1. Exit 77 where a GPU is visible (the
# check is for GPU-less machines; there, scripts/gpu_check.sh runs the GPU tests for real).
# The nested ctest runs from a copy of the build's CTestTestfile.cmake tree, so its Testing/ logs stay out of the
# build folder (the outer ctest is writing there).
# Usage: gpu_skip_check.sh BUILD_DIR SOURCE_DIR [MIN_TESTS] [JOBS]
set -uo pipefail
build=$(cd "$1" && pwd); src=$(cd "$2" && pwd); min=${3:-1}; jobs=${4:-2}
. "$src/tests/gpu_skip.sh"
if [ "$(kachi_gpu_count)" -gt 0 ]; then echo "SKIPPED: a GPU is visible here; this check is for GPU-less machines"; exit 77; fi
unset KACHI_REQUIRE_GPU
failed=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$build" && find . -name CTestTestfile.cmake -exec cp --parents {} "$tmp" \;)

# run_gpu_tests WANT [ENV...]: runs ctest -L gpu (with ENV) and checks every listed test ended with WANT.
run_gpu_tests() {
  local want=$1; shift
  local listed results
  listed=$(cd "$tmp" && ctest -N -L gpu | sed -n 's/^ *Test *#[0-9]*: \(.*\)$/\1/p' | sort)
  (cd "$tmp" && env "$@" ctest -L gpu -j "$jobs" --timeout 300) >"$tmp/out.txt" 2>&1
  results=$(sed -n 's/^.*Test *#[0-9]*: \([^ ]*\) [ .]*\**\(Passed\|Skipped\|Failed\|Timeout\|Exception\|Not Run\).*/\1 \2/p' \
    "$tmp/out.txt" | sort)
  local n bad
  n=$(printf '%s\n' "$listed" | grep -c .)
  echo "ctest -L gpu ${*:-(no KACHI_REQUIRE_GPU)}: $n test(s) listed, expecting every one $want"
  printf '%s\n' "$results" | sed 's/^/  /'
  if [ "$n" -lt "$min" ]; then echo "FAIL: $n gpu-labelled tests listed, at least $min expected"; failed=1; fi
  bad=$(join -a1 <(printf '%s\n' "$listed") <(printf '%s\n' "$results") | awk -v w="$want" '$2 != w')
  if [ -n "$bad" ]; then echo "FAIL: not $want:"; printf '%s\n' "$bad" | sed 's/^/  /'; failed=1; fi
}
run_gpu_tests Skipped
run_gpu_tests Failed KACHI_REQUIRE_GPU=1

# The shell helper, as a shell-driven GPU test would use it.
probe="$tmp/probe.sh"
printf '. "%s"\nkachi_skip_without_gpu\necho ran\n' "$src/tests/gpu_skip.sh" >"$probe"
for case in "77 " "1 KACHI_REQUIRE_GPU=1" "77 KACHI_REQUIRE_GPU=0"; do
  want=${case%% *}; setting=${case#* }
  env $setting bash "$probe" >"$tmp/probe.txt" 2>&1; got=$?
  echo "gpu_skip.sh ${setting:-(unset)}: exit $got ($(head -1 "$tmp/probe.txt"))"
  [ "$got" = "$want" ] || { echo "FAIL: gpu_skip.sh ${setting:-(unset)} exited $got, expected $want"; failed=1; }
done
[ "$failed" = 0 ] && echo "PASS: every GPU test says Skipped here and Failed under KACHI_REQUIRE_GPU=1"
exit $failed
