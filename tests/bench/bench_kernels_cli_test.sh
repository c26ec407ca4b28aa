#!/bin/sh
# `kachi bench kernels` without a GPU: the GPU is hidden (CUDA_VISIBLE_DEVICES empty, so the check holds on a GPU
# machine too and never starts a benchmark), and the command must exit 1 with the message of its build (a CUDA
# build: "no visible GPU"; a CPU-only build: "CPU-only build"), for all families and for one named family. An unknown
# family is a usage error (exit 2, the known families listed), and `kachi bench` alone lists every benchmark.
# Usage: bench_kernels_cli_test.sh KACHI CUDA_BUILD(1|0)
set -u
kachi=$1
cuda_build=$2
if [ "$cuda_build" = 1 ]; then
  want="kachi bench kernels: no visible GPU"
else
  want="kachi bench kernels: this kachi is a CPU-only build"
fi
failed=0
# expect EXIT_CODE TEXT ARGS...: runs kachi with ARGS and the GPU hidden; checks the exit code and that TEXT appears.
expect() {
  code=$1; text=$2; shift 2
  out=$(CUDA_VISIBLE_DEVICES= "$kachi" "$@" 2>&1)
  got=$?
  echo "\$ kachi $* -> exit $got"; echo "$out"
  if [ "$got" -ne "$code" ]; then echo "FAIL: kachi $* exited $got, expected $code"; failed=1; fi
  case $out in
    *"$text"*) ;;
    *) echo "FAIL: kachi $* did not print '$text'"; failed=1 ;;
  esac
  case $out in
    *"# ceilings:"*) echo "FAIL: kachi $* measured ceilings with the GPU hidden"; failed=1 ;;
  esac
}
expect 1 "$want" bench kernels
expect 1 "$want" bench kernels attention memory
expect 2 "unknown kernel family 'softmax' (available: memory, matmul, attention)" bench kernels memory softmax
expect 2 "missing benchmark name (available: comm, kernels, train, scaling)" bench
expect 2 "kachi bench kernels [memory|matmul|attention ...]" bench nonsense
[ "$failed" = 0 ] && echo "PASS"
exit $failed
