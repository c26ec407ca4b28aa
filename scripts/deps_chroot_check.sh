#!/usr/bin/env bash
# Proves that .deps/ (scripts/deps_bundle.sh) is all kachi needs beyond a toolchain: in a bare Debian 12 chroot
# (debootstrap --variant=minbase bookworm) with only build-essential, cmake, ninja-build and g++ installed (no
# OpenMPI, protobuf, abseil or GoogleTest), configures kachi CPU-only against .deps/ alone, builds the targets `kachi`
# and `comm_mpi_collectives_test`, and runs `mpirun -np 2 kachi env` and the gtest binary under `mpirun -np 2`.
# Prints PASSED or FAILED last; always unmounts and removes the chroot. Needs root and network (Debian mirror).
# Takes about 4 min on 2 shared cores (2026-12-04: debootstrap 36 s, toolchain 21 s, configure 2 s, build 182 s at
# -j2, runs 3 s). CI skips it: ctest's deps_chroot_check runs it only with KACHI_DEPS_CHROOT_CHECK=1.
#   bash scripts/deps_chroot_check.sh [LOG]        (the log also goes to stdout; .deps is made first if missing)
#   KACHI_DEPS_CHROOT_DIR=/path keeps the chroot in that folder (reused when it holds one already; not removed)
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log=${1:-/dev/null}
mirror=${KACHI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
exec > >(tee "$log") 2>&1
start=$(date +%s)
step() { echo "== [$(($(date +%s) - start)) s] $*"; }
fail() { echo "FAILED: $*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot, mount)"
if [ ! -f "$repo/.deps/env.sh" ]; then
  step "making .deps (scripts/deps_bundle.sh)"
  bash "$repo/scripts/deps_bundle.sh" || fail "deps_bundle.sh"
fi
command -v debootstrap >/dev/null || { step "installing debootstrap"; apt-get install -y debootstrap >/dev/null; } \
  || fail "no debootstrap"

keep=${KACHI_DEPS_CHROOT_DIR:-}
root=${keep:-$(mktemp -d /tmp/kachi-chroot.XXXXXX)}
mounts=()
teardown() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null; done
  if grep -q " $root/" /proc/mounts; then echo "WARNING: still mounted under $root:"; grep " $root/" /proc/mounts
  elif [ -z "$keep" ]; then rm -rf --one-file-system "$root"; fi
}
# Mounts left under a kept chroot by a run that was killed: unmounted first (deepest first).
unmount_stale() {
  local m
  grep " $root/" /proc/mounts | cut -d' ' -f2 | sort -r | while read -r m; do umount -l "$m"; done
}
trap teardown EXIT
bind() { mkdir -p "$root$2" && mount --bind "$1" "$root$2" && mounts+=("$root$2"); }

if [ ! -x "$root/usr/bin/apt-get" ]; then
  step "debootstrap --variant=minbase bookworm $root"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 \
    || { tail -20 "$root.debootstrap.log"; fail "debootstrap"; }
  rm -f "$root.debootstrap.log"
fi
unmount_stale
cp /etc/resolv.conf /etc/hosts "$root/etc/" 2>/dev/null
bind /proc /proc && bind /dev /dev && bind /dev/pts /dev/pts && bind /sys /sys || fail "mounts"
bind "$repo" /kachi || fail "bind $repo"
mount -o remount,bind,ro "$root/kachi" || fail "read-only bind of the repository"
in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
  DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 bash -c "$1"; }

step "installing the toolchain only: build-essential cmake ninja-build g++"
in_root "apt-get update -qq && apt-get install -y -qq --no-install-recommends build-essential cmake ninja-build g++ \
  >/tmp/apt.log 2>&1 || { tail -20 /tmp/apt.log; exit 1; }" || fail "apt-get install in the chroot"
step "the chroot has none of the bundled libraries of its own"
in_root 'for p in openmpi-bin libopenmpi3 libopenmpi-dev protobuf-compiler libprotobuf-dev libprotobuf32 libabsl-dev \
    libabsl20220623 libgtest-dev libgmock-dev googletest libhwloc15 libevent-core-2.1-7 libpmix2; do
    dpkg-query -W -f="\${Status}" $p 2>/dev/null | grep -q "install ok installed" && { echo "installed: $p"; exit 1; }
  done
  for t in mpirun mpicxx protoc; do command -v $t && exit 1; done
  ls /usr/include/google/protobuf /usr/include/absl /usr/include/gtest 2>/dev/null && exit 1
  echo "none of openmpi, protobuf, abseil, googletest, hwloc, libevent, pmix; no mpirun, mpicxx, protoc"' \
  || fail "the chroot already has a bundled dependency"
echo "packages: $(in_root 'dpkg-query -W | wc -l') installed; $(cat "$repo/.deps/PACKAGES" | wc -l) in .deps" \
  "($(du -sm "$repo/.deps" | cut -f1) MiB)"

step "configure (CPU-only) against /kachi/.deps only"
in_root '. /kachi/.deps/env.sh && cmake -S /kachi -B /build -G Ninja -DKACHI_WITH_CUDA=OFF >/tmp/cmake.log 2>&1 \
  || { tail -30 /tmp/cmake.log; exit 1; }; grep -iE "found (mpi|protobuf|gtest)|kachi CUDA" /tmp/cmake.log' \
  || fail "cmake configure"
step "build kachi and comm_mpi_collectives_test (-j$(nproc))"
in_root ". /kachi/.deps/env.sh && cmake --build /build -j$(nproc) --target kachi comm_mpi_collectives_test \
  >/tmp/build.log 2>&1 || { grep -B2 -A12 -m3 error /tmp/build.log; tail -5 /tmp/build.log; exit 1; }; tail -1 /tmp/build.log" \
  || fail "build"
in_root '. /kachi/.deps/env.sh; ldd /build/kachi | grep -E "not found|mpi|protobuf|absl_base" ; \
  ! ldd /build/kachi | grep -q "not found"' || fail "kachi has unresolved libraries"

mpi_env='export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  OMPI_MCA_hwloc_base_binding_policy=none OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
  OMPI_MCA_btl_vader_single_copy_mechanism=none'
step "mpirun -np 2 kachi env"
in_root ". /kachi/.deps/env.sh; $mpi_env; cd /tmp && timeout 120 mpirun -np 2 /build/kachi env >/tmp/env.log 2>&1; rc=\$?
  cat /tmp/env.log; [ \$rc = 0 ] && [ \$(grep -c '^rank=' /tmp/env.log) = 2 ] || exit 1
  ! grep -q \"couldn't open the help file\|Sorry!\" /tmp/env.log" || fail "mpirun -np 2 kachi env (or OpenMPI/PMIx looked outside .deps)"
step "mpirun -np 2 comm_mpi_collectives_test"
in_root ". /kachi/.deps/env.sh; $mpi_env; cd /tmp && timeout 300 mpirun -np 2 /build/tests/comm/comm_mpi_collectives_test \
  >/tmp/gtest.log 2>&1; rc=\$?; grep -E '^\[  (PASSED|FAILED|SKIPPED) ' /tmp/gtest.log; tail -3 /tmp/gtest.log; exit \$rc" \
  || fail "comm_mpi_collectives_test under mpirun -np 2"
step "done"
echo "PASSED: kachi configured, built and ran (mpirun -np 2: kachi env, comm_mpi_collectives_test) in a bare Debian 12" \
  "chroot with only the toolchain and .deps/"
