#!/usr/bin/env bash
# Fills .deps/ (ignored by git) with what kachi needs beyond a compiler, CMake and Ninja, taken from Debian 12's
# packages by `apt-get download` + `dpkg -x`: OpenMPI 4.1 (mpirun, mpicxx, libs and the runtime libraries it loads:
# hwloc, libevent, PMIx, munge), protobuf 3.21 + protoc, abseil 20220623 and GoogleTest/GoogleMock 1.12 (static).
# One host is all it serves (self, shared memory, TCP): the InfiniBand/OFI/UCX/PSM transports and OpenSHMEM are left
# out, and every OpenMPI/PMIx component needing a library neither bundled nor in the base system is dropped. For machines without them (the lent GPU machine's image, a bare chroot:
# scripts/deps_chroot_check.sh proves it), carried by the device tool (`carry: [".deps"]`).
# Relocatable: .deps/env.sh sets PATH, LD_LIBRARY_PATH, CMAKE_PREFIX_PATH, OPAL_PREFIX and PMIX_PREFIX + PMIx's dirs
# (OpenMPI and PMIx find their own files through them) from its own location; absolute symlinks are made relative; pkg-config files use ${pcfiledir};
# docs, man pages, Fortran modules and static libraries other than GoogleTest's are pruned (about 30 MiB; must stay
# <= 40 MiB to carry).
#   bash scripts/deps_bundle.sh [DIR]       (default: .deps in the repository; replaces DIR)
#   . .deps/env.sh && cmake -S . -B build -G Ninja ...      (CMake then finds MPI, Protobuf, absl, GTest there)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-$repo/.deps}
max_mib=40

packages=(
  # OpenMPI and the libraries its runtime loads
  openmpi-bin openmpi-common libopenmpi3 libopenmpi-dev
  libhwloc15 libevent-core-2.1-7 libevent-pthreads-2.1-7 libpmix2 libmunge2
  # protobuf, abseil, GoogleTest
  protobuf-compiler libprotoc32 libprotobuf32 libprotobuf-dev
  libabsl20220623 libabsl-dev
  libgtest-dev libgmock-dev
  # zlib (kachi's checkpoints use its crc32)
  zlib1g zlib1g-dev
)

rm -rf "$dir" && mkdir -p "$dir" && dir=$(cd "$dir" && pwd)
debs=$(mktemp -d); trap 'rm -rf "$debs"' EXIT
(cd "$debs" && apt-get download "${packages[@]}" >/dev/null) || {
  echo "deps_bundle: apt-get download failed (Debian 12 sources and network needed; try apt-get update)" >&2; exit 1; }
for deb in "$debs"/*.deb; do dpkg -x "$deb" "$dir"; done
ls "$debs" | sed 's/_amd64.deb$//;s/_all.deb$//' >"$dir/PACKAGES"

u=$dir/usr
lib=$u/lib/x86_64-linux-gnu
# Prune what no build or run needs.
rm -rf "$u/share/doc" "$u/share/man" "$u/share/lintian" "$u/share/bug" "$dir/etc/openmpi/"*.conf.dpkg* \
  "$lib/openmpi/lib/"*.mod "$lib/fortran" "$u/share/openmpi/"*fort* 2>/dev/null || true
find "$lib" -name '*.a' ! -name 'libgtest*.a' ! -name 'libgmock*.a' -delete
mapfile -t junk < <(find "$lib" -name '*mpifh*' -o -name '*usempi*' -o -name '*_mpi_f*' -o -name '*oshmem*' \
  -o -name '*openshmem*' -o -name '*java*' -o -name 'libprotobuf-lite*')
rm -rf "${junk[@]}"
rm -f "$u/bin/"osh* "$u/bin/"shmem* "$u/bin/mpijava"* "$u/bin/"*fort* "$u/bin/"mpif77* "$u/bin/"mpif90*

# Libraries every Linux system has; anything else an ELF file needs must be in the bundle.
base='^(libc|libm|libdl|librt|libpthread|libutil|libresolv|libgcc_s|libstdc\+\+|libz|libudev|libuuid|ld-linux-x86-64)\.so'
# unresolved FILE: the NEEDED libraries of FILE found neither in the bundle nor in the base list.
unresolved() {
  readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | while read -r need; do
    [[ $need =~ $base ]] && continue
    [ -n "$(find "$dir" -name "$need" -print -quit)" ] || echo "$need"
  done
}
dropped=0
for so in $(find "$lib" -maxdepth 1 -type f -name 'libmca_common_*') \
          $(find "$lib/openmpi/lib/openmpi3" "$lib/pmix2/lib/pmix" -name '*.so'); do
  [ -z "$(unresolved "$so")" ] || { rm -f "$so"; dropped=$((dropped + 1)); }
done
find "$dir" -xtype l -delete  # symlinks to what was dropped
for f in $(find "$dir" -type f \( -name '*.so*' -o -perm -u+x \) ! -name '*.sh' ! -name '*.pl'); do
  file -b "$f" | grep -q '^ELF' || continue
  missing=$(unresolved "$f" | tr '\n' ' ')
  [ -z "$missing" ] || { echo "deps_bundle: ${f#$dir/} needs $missing(not bundled)" >&2; exit 1; }
done
echo "deps_bundle: dropped $dropped OpenMPI/PMIx components whose libraries are not bundled"

# Debian registers these names through update-alternatives, which dpkg -x does not run.
ln -sfn orterun "$u/bin/mpirun"
ln -sfn orterun "$u/bin/mpiexec"
for w in mpicc mpicxx mpic++ mpiCC; do ln -sfn opal_wrapper "$u/bin/$w"; done

# Absolute symlinks (into /usr, /etc) -> relative ones inside the bundle.
find "$dir" -type l | while read -r link; do
  target=$(readlink "$link")
  case $target in
    /*) [ -e "$dir$target" ] || [ -L "$dir$target" ] || continue
        ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$dir$target")" "$link" ;;
  esac
done
# pkg-config files: prefix relative to the file.
for pc in $(find "$dir" -name '*.pc'); do
  rel=$(realpath -m --relative-to="$(dirname "$pc")" "$u")
  sed -i "s|^prefix=/usr\$|prefix=\${pcfiledir}/$rel|" "$pc"
done
# Any CMake file still naming the build machine's /usr: report (abseil's and GoogleTest's use _IMPORT_PREFIX).
# (CMake's own `_realOrig "/usr/lib/..."` lines only handle a symlinked /usr and are fine.)
grep -r '"/usr/\(lib\|include\)' "$lib/cmake" 2>/dev/null | grep -v '_realOrig\|_IMPORT_PREFIX "/usr/lib/' \
  | sed 's/^/deps_bundle: absolute path left in /' >&2 || true

cat >"$dir/env.sh" <<'EOF'
# Source me: puts the kachi dependency bundle (scripts/deps_bundle.sh) first on the search paths.
deps=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)
export OPAL_PREFIX=$deps/usr
export PATH=$deps/usr/bin${PATH:+:$PATH}
# PMIx (a separate prefix in Debian) finds its own components and help files through these: Debian's build has
# them as expanded absolute paths, which PMIX_PREFIX alone does not move (a bare chroot showed it).
export PMIX_PREFIX=$deps/usr/lib/x86_64-linux-gnu/pmix2
export PMIX_EXEC_PREFIX=$PMIX_PREFIX PMIX_BINDIR=$PMIX_PREFIX/bin PMIX_LIBDIR=$PMIX_PREFIX/lib
export PMIX_PKGLIBDIR=$PMIX_PREFIX/lib/pmix PMIX_DATAROOTDIR=$PMIX_PREFIX/share PMIX_DATADIR=$PMIX_PREFIX/share
export PMIX_PKGDATADIR=$PMIX_PREFIX/share/pmix PMIX_INCLUDEDIR=$PMIX_PREFIX/include
export LD_LIBRARY_PATH=$deps/usr/lib/x86_64-linux-gnu:$deps/usr/lib/x86_64-linux-gnu/openmpi/lib:$PMIX_PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export CMAKE_PREFIX_PATH=$deps/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
export PKG_CONFIG_PATH=$deps/usr/lib/x86_64-linux-gnu/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
# OpenMPI's launcher wants an ssh/rsh agent on the PATH even for one host; where there is none, name a no-op.
command -v ssh >/dev/null 2>&1 || command -v rsh >/dev/null 2>&1 || export OMPI_MCA_plm_rsh_agent=${OMPI_MCA_plm_rsh_agent:-false}
EOF

mib=$(du -sm "$dir" | cut -f1)
echo "deps_bundle: $(wc -l <"$dir/PACKAGES") packages unpacked into $dir ($mib MiB); source $dir/env.sh to use it"
if [ "$mib" -gt "$max_mib" ]; then echo "deps_bundle: $mib MiB is over the $max_mib MiB limit" >&2; exit 1; fi
