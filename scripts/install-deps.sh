#!/usr/bin/env bash
# Installs every Debian package that cir's build, tests, benchmarks and demo
# need. Idempotent and non-interactive: packages already present are left as
# they are, and the script says what it installed.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git clang libclang-rt-14-dev
  # libraries
  libtorch-dev libopenblas0-pthread
  libopenmpi-dev openmpi-bin
  libhdf5-dev hdf5-tools zlib1g-dev
  libtomlplusplus-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev
  libjpeg62-turbo-dev libturbojpeg0-dev libpng-dev libicu-dev
  # Python peers that tests and benchmarks compare against (Debian's python3)
  python3 python3-numpy python3-h5py python3-pandas python3-torch python3-torchvision python3-faiss python3-pil
  # cir-report's checks: scipy.stats for the intervals, protobuf to read the TensorBoard
  # events back, headless Chromium to render the --html page
  python3-scipy python3-protobuf chromium
  # figures
  gnuplot-nox
  # the Slurm test cluster of the slurm/ tests (iproute2: its nodes' namespaces and links)
  slurmctld slurmd slurm-client munge iproute2
)

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
else
  echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-deps: installed ${missing[*]}"
fi

# The tokenizer test compares against the npm package gpt-3-encoder; it needs
# node and npm, which this kind of machine ships outside apt (Debian's npm
# conflicts with them), so install Debian's only where neither is present.
if ! command -v npm >/dev/null 2>&1; then
  echo "install-deps: installing nodejs npm"
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# Debian's LibTorch multiplies matrices through whatever libblas.so.3 points
# to; the reference BLAS is ~30x slower than OpenBLAS on this kind of machine.
blas=$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || true)
case "$blas" in
  *openblas*) echo "install-deps: BLAS is OpenBLAS ($blas)" ;;
  *) echo "install-deps: warning: libblas.so.3 points to '$blas', not OpenBLAS" >&2 ;;
esac
