#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: set up (scripts/setup.sh), then every ctest (unit, mpirun,
# Slurm; GPU tests skip themselves without a GPU). Extra arguments go to ctest, e.g. bash scripts/test.sh -R config
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/setup.sh"
build_dir=${KACHI_BUILD_DIR:-$repo/build}
export KACHI_PYTHON=${KACHI_PYTHON:-$build_dir/pyenv/bin/python}
cd "$build_dir"
ctest --output-on-failure "$@"
