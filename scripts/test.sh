#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: set up (scripts/setup.sh), then every ctest (unit, mpirun,
# Slurm; GPU tests skip themselves without a GPU), then the ASan + UBSan subset (scripts/sanitize.sh). Extra
# arguments go to ctest and skip the sanitizer run, e.g. bash scripts/test.sh -R config; KACHI_SANITIZE=0 skips it.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/setup.sh"
build_dir=${KACHI_BUILD_DIR:-$repo/build}
export KACHI_PYTHON=${KACHI_PYTHON:-$build_dir/pyenv/bin/python}
cd "$build_dir"
status=0
ctest --output-on-failure "$@" || status=$?
if [[ $# == 0 && ${KACHI_SANITIZE:-1} != 0 ]]; then
  bash "$repo/scripts/sanitize.sh" || status=$?
fi
exit "$status"
