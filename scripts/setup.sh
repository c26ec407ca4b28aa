#!/usr/bin/env bash
# Shared set-up for scripts/main.sh and scripts/test.sh on Debian 12: installs the Debian packages kachi needs
# (apt is skipped when all are present, so re-runs are fast), then configures and builds everything with CMake +
# Ninja into build/ (or $KACHI_BUILD_DIR). CUDA is used when /usr/local/cuda (with NCCL) exists; otherwise the
# build is CPU-only. Needs root (or sudo) only when packages are missing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${KACHI_BUILD_DIR:-$repo/build}

# Build tools and libraries; slurm-wlm and munge let the Slurm test run without network; openssh-client because
# OpenMPI's mpirun looks for an ssh agent even on one machine; fortunes-min is the main job's training text;
# python3-venv/numpy host the safetensors interop test's Python side; chromium screenshots the lanes report
# (tests/lanes/report_screenshot_test.sh); iproute2 and iputils-ping make the emulated cluster's hosts
# (scripts/cluster.sh); ccache keeps objects between builds.
packages=(
  build-essential cmake ninja-build g++ gcc
  openmpi-bin libopenmpi-dev openssh-client
  protobuf-compiler libprotobuf-dev libabsl-dev libgtest-dev libgmock-dev
  slurm-wlm munge
  fortunes-min python3 python3-venv python3-numpy
  chromium
  iproute2 iputils-ping ccache
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# Python for the tests' reference sides, a venv inside the build tree made once: numpy + safetensors (interop
# tests), tokenizers (the BPE tokenizer's reference ids), tensorboard (reads back the metrics event files).
python_packages=(numpy safetensors tokenizers tensorboard)
if [[ ! -x "$build_dir/pyenv/bin/python" ]] ||
   ! "$build_dir/pyenv/bin/python" -c "import numpy, safetensors, tokenizers, tensorboard" 2>/dev/null; then
  python3 -m venv --system-site-packages "$build_dir/pyenv"
  "$build_dir/pyenv/bin/pip" install --quiet --disable-pip-version-check "${python_packages[@]}" \
    || echo "setup: could not install ${python_packages[*]} from PyPI; the Python tests that need them skip" >&2
fi

# ccache, where installed, keeps compiled objects across build folders and worktrees (CCACHE_BASEDIR makes paths
# relative); a machine without it builds as usual.
launchers=()
if command -v ccache >/dev/null; then
  launchers=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$repo")}
fi
cmake -S "$repo" -B "$build_dir" -G Ninja "${launchers[@]}"
cmake --build "$build_dir" -j "$(nproc)"
