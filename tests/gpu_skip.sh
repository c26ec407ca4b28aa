# Sourced by shell-driven GPU tests (the shell twin of KACHI_SKIP_WITHOUT_GPU in tests/test_util.h):
#   . "$(dirname "$0")/../gpu_skip.sh"; kachi_skip_without_gpu [N]
# With fewer than N (default 1) GPUs visible (nvidia-smi -L, limited by CUDA_VISIBLE_DEVICES), prints why and exits
# 77 (register the test with SKIP_RETURN_CODE 77 and the `gpu` label: ctest says Skipped); when KACHI_REQUIRE_GPU
# (a count of GPUs the machine has; "1" = one) is at least N, exits 1 instead (the GPU machine's check).

# Number of GPUs this process may use.
kachi_gpu_count() {
  local n
  n=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ') || n=0
  if [ -n "${CUDA_VISIBLE_DEVICES+x}" ]; then
    local visible
    visible=$(printf '%s' "$CUDA_VISIBLE_DEVICES" | tr ',' '\n' | grep -c .) || visible=0
    [ "$visible" -lt "$n" ] && n=$visible
  fi
  echo "$n"
}

# Skips (exit 77) or, under KACHI_REQUIRE_GPU, fails (exit 1) the calling script when fewer than ${1:-1} GPUs exist.
kachi_skip_without_gpu() {
  local want=${1:-1} have required
  have=$(kachi_gpu_count)
  [ "$have" -ge "$want" ] && return 0
  required=${KACHI_REQUIRE_GPU:-0}
  case $required in ''|0) required=0 ;; *[!0-9]*) required=1 ;; esac
  if [ "$required" -ge "$want" ]; then
    echo "FAIL: KACHI_REQUIRE_GPU=$KACHI_REQUIRE_GPU but $have GPU(s) visible, $want needed: GPU test failed"
    exit 1
  fi
  echo "SKIPPED: $have GPU(s) visible, $want needed: GPU test skipped (exit 77)"
  exit 77
}
