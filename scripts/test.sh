#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: set up (scripts/setup.sh), then every ctest (unit, mpirun,
# Slurm; GPU tests skip themselves without a GPU). Extra arguments go to ctest, e.g. bash scripts/test.sh -R config
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/setup.sh"
cd "${KACHI_BUILD_DIR:-$repo/build}"
ctest --output-on-failure "$@"
