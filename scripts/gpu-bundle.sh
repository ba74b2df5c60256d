#!/usr/bin/env bash
# Downloads, on a Debian 12 machine with apt, the Debian packages that cir's
# GPU build needs beyond what a GPU machine with CUDA, PyTorch, CMake and a
# compiler already has: Open MPI (with mpirun), HDF5, TOML++, fmt, CLI11,
# nlohmann-json, GoogleTest, TurboJPEG, libpng, ICU, OpenSSL, zlib, their
# headers, and every shared library they load, into .gpu-bundle/debs
# (git-ignored). scripts/gpu-check.sh unpacks them into a private prefix on
# the GPU machine, which reaches no package registry.
#
# Left out, because every Linux that runs PyTorch has them (or they are not
# loaded by cir): the C and C++ runtimes, package and login tooling (dpkg,
# debconf, PAM, SELinux, audit), X11, ssh (mpirun needs it only across
# nodes) and hwloc's optional plugins. The bundle must stay under 64 MiB,
# the most a device run carries with the working tree; the script checks.
#
# Usage: scripts/gpu-bundle.sh   (idempotent: downloads only what is missing)
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-bundle/debs
limit_mib=64

# Headers and CMake packages; their dependencies are not needed (compilers,
# Fortran, other flavours of the same library).
dev=(libopenmpi-dev libhdf5-dev libaec-dev libtomlplusplus-dev libfmt-dev libcli11-dev
  nlohmann-json3-dev libgtest-dev libgmock-dev libturbojpeg0-dev libjpeg62-turbo-dev
  libpng-dev libicu-dev libssl-dev zlib1g-dev)
# What the programs and mpirun load: these and everything they depend on.
runtime=(openmpi-bin openmpi-common libopenmpi3 libhdf5-103-1 libfmt9 libtomlplusplus3
  libturbojpeg0 libjpeg62-turbo libpng16-16 libicu72 libssl3 zlib1g)
base='^(adduser|cdebconf|debconf|dpkg|install-info|tar|passwd|gcc-12-base|libc6|libgcc-s1|libstdc\+\+6|libcrypt1|libpam.*|libselinux1|libsemanage.*|libsepol2|libaudit.*|libcap-ng0|libdebian-installer4|libnewt0\.52|libslang2|libtextwrap1|readline-common|libreadline8|libtinfo6|libdb5\.3|libpcre2-8-0|openssh-client|libfido2-1|libcbor0\.8|libedit2|libbsd0|libmd0|libhwloc-plugins|libxnvctrl0|ocl-icd-libopencl1|libpciaccess0|libx11-6|libx11-data|libxau6|libxcb1|libxdmcp6|libxext6)$'

command -v apt-get >/dev/null || { echo "gpu-bundle: needs apt-get (a Debian 12 machine)" >&2; exit 2; }
if ! apt-cache show "${runtime[0]}" >/dev/null 2>&1; then
  echo "gpu-bundle: apt knows no ${runtime[0]}; run apt-get update first" >&2
  exit 2
fi

mapfile -t closure < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances --no-pre-depends "${runtime[@]}" |
  grep -v '^[ <]' | grep -Ev "$base" | sort -u)
mapfile -t wanted < <(printf '%s\n' "${closure[@]}" "${dev[@]}" | sort -u)

mkdir -p "$out"
missing=()
for p in "${wanted[@]}"; do
  v=$(apt-cache policy "$p" | awk '/Candidate:/ {print $2}')
  [ -n "$v" ] && [ "$v" != "(none)" ] || { echo "gpu-bundle: no candidate version for $p" >&2; exit 2; }
  # apt-get download names files package_version_arch.deb, with ':' as %3a.
  compgen -G "$out/${p}_${v/:/%3a}_*.deb" >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "gpu-bundle: downloading ${#missing[@]} of ${#wanted[@]} packages"
  (cd "$out" && apt-get download -q "${missing[@]}" >/dev/null)
fi
# Versions apt no longer offers (an older download) would be unpacked too.
for f in "$out"/*.deb; do
  name=$(basename "$f"); name=${name%%_*}
  printf '%s\n' "${wanted[@]}" | grep -qx -- "$name" || { echo "gpu-bundle: removing $f (no longer wanted)"; rm -f "$f"; }
done
(cd "$out" && sha256sum ./*.deb >SHA256SUMS)

size_kib=$(du -sk "$out" | cut -f1)
echo "gpu-bundle: $(ls "$out"/*.deb | wc -l) packages, $((size_kib / 1024)) MiB in $out"
if [ "$size_kib" -ge $((limit_mib * 1024)) ]; then
  echo "gpu-bundle: the bundle exceeds ${limit_mib} MiB, the most a device run carries" >&2
  exit 1
fi
