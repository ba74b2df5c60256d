#!/usr/bin/env bash
# Builds cir's GPU configuration on a machine with a GPU, CUDA (nvcc),
# PyTorch, CMake, ninja and a C++ compiler but no package registry, and runs
# what settles that cir works there: the CUDA variants of the collective,
# equivalence, SyncBN and GradientSync tests (NCCL with one rank, two ranks
# sharing the GPU through the MPI backend), a 2-epoch synthetic sweep on the
# GPU, the full-model train step against PyTorch eager at fp32, TF32 and
# bf16, and the loader's images/s against what the GPU consumes.
#
# The Debian packages it needs travel with the working tree in
# .gpu-bundle/debs (scripts/gpu-bundle.sh makes them); they are unpacked into
# a private prefix, never into /. Everything goes to $OUT (default
# ./gpu-check-out), at most 8 files: summary.txt (Markdown), env.txt, configure.log,
# build.log, ldd.txt, tests.log, sweep.log, bench.log.
#
# Without a GPU (torch.cuda.is_available() false) it rehearses: the same
# unpacking, configure (without NCCL), build, library check, the tests
# (their CUDA cases skip) and a CPU sweep; the GPU benchmarks are skipped.
# On a Debian machine Debian's LibTorch (libtorch-dev) stands in for
# PyTorch's. A configure or build failure prints its log in full and stops.
#
# Environment: OUT, GPU_CHECK_WORK (scratch, default /tmp/cir-gpu-check),
# PYTHON (default python3), JOBS (default nproc).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
OUT=${OUT:-$root/gpu-check-out}
work=${GPU_CHECK_WORK:-/tmp/cir-gpu-check}
python=${PYTHON:-python3}
jobs=${JOBS:-$(nproc)}
build=$root/build-gpu
prefix=$work/prefix
mkdir -p "$OUT" "$work"
summary=$OUT/summary.txt
started=$(date +%s)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# Everything within GPU_CHECK_SECONDS (570: a device run's command gets 600),
# so that what is done comes back; a step that would start too late is
# skipped and says so.
deadline=${GPU_CHECK_SECONDS:-570}
elapsed() { echo $(($(date +%s) - started)); }
note() { echo "$*" | tee -a "$summary"; }
# step NAME LOG TIMEOUT COMMAND…: runs COMMAND with its output appended to
# LOG, and a row in the summary with its status and seconds.
step() {
  local name=$1 log=$2 limit=$3; shift 3
  local t0=$(date +%s) rc left=$((deadline - $(elapsed)))
  if [ $left -lt 15 ]; then
    note "| $name | SKIPPED: out of time ($(elapsed) s of $deadline) | 0 s | |"
    return 1
  fi
  [ "$limit" -le "$left" ] || limit=$left
  echo "== $name: $*" >>"$log"
  # Through bash, so that COMMAND may be one of this script's functions.
  timeout --kill-after=10 "$limit" bash -c '"$@"' step "$@" >>"$log" 2>&1
  rc=$?
  local status=ok
  [ $rc -eq 0 ] || status="FAILED (exit $rc$([ $rc -eq 124 ] && echo ", over ${limit} s"))"
  note "| $name | $status | $(($(date +%s) - t0)) s | $(basename "$log") |"
  echo "== $name: exit $rc" >>"$log"
  return $rc
}
# Stops after a configure or build failure, with its log in full on stdout.
fail_with_log() {
  echo "gpu-check: $1 failed; its log in full ($2):"
  cat "$2"
  note ""
  note "Stopped: $1 failed after $(elapsed) s; the log is $(basename "$2")."
  exit 1
}

: >"$summary"
for f in env.txt configure.log build.log ldd.txt tests.log sweep.log bench.log; do : >"$OUT/$f"; done

# --- the machine --------------------------------------------------------------
{
  echo "## os-release"; cat /etc/os-release 2>&1
  echo "## kernel, cores, memory"; uname -a; nproc; free -g 2>&1
  echo "## compilers and tools"
  for t in c++ g++ gcc clang++ cmake ninja nvcc dpkg ar; do
    printf '%s: ' "$t"; command -v "$t" || echo "not found"
  done
  c++ --version 2>&1 | head -1; cmake --version | head -1; nvcc --version 2>&1 | tail -2
  echo "## GPU"; nvidia-smi 2>&1 | head -15
  echo "## PyTorch ($python)"
  "$python" -c 'import torch, sys; print(sys.executable, torch.__version__, "cuda", torch.version.cuda,
"available", torch.cuda.is_available(), "nccl", torch.cuda.nccl.version() if torch.cuda.is_available() else None)' 2>&1
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

gpu=0
"$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null && gpu=1
note "# cir GPU check, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
note ""
if [ $gpu -eq 1 ]; then
  note "Mode: GPU ($("$python" -c 'import torch; print(torch.cuda.get_device_name(0), "· torch", torch.__version__)'))."
else
  note "Mode: rehearsal (no GPU seen by $python): CPU build against the bundle, GPU benchmarks skipped."
fi
note "Machine: $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-unknown OS}"), $(nproc) cores, $(c++ --version 2>/dev/null | head -1)."
note ""
note "| step | status | time | log |"
note "|---|---|---|---|"

# --- the bundle, unpacked into a private prefix ---------------------------------
debs=$root/.gpu-bundle/debs
ls "$debs"/*.deb >/dev/null 2>&1 || {
  note "| unpack | FAILED: no .deb in $debs (run scripts/gpu-bundle.sh on a Debian 12 machine first) | 0 s | |"
  exit 1
}
unpack() {
  rm -rf "$prefix" && mkdir -p "$prefix" || return 1
  (cd "$debs" && sha256sum --quiet -c SHA256SUMS) || return 1
  for deb in "$debs"/*.deb; do
    if command -v dpkg >/dev/null; then
      dpkg -x "$deb" "$prefix" || return 1
    else
      # A .deb is an ar archive whose data.tar.* holds the files.
      "$python" - "$deb" "$prefix" <<'PY' || return 1
import io, sys, tarfile
deb, prefix = sys.argv[1], sys.argv[2]
blob = open(deb, "rb").read()
assert blob[:8] == b"!<arch>\n", deb + ": not a Debian package"
at = 8
while at < len(blob):
    name, size = blob[at:at + 16].decode().strip().rstrip("/"), int(blob[at + 48:at + 58])
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(blob[at + 60:at + 60 + size])).extractall(prefix)
        break
    at += 60 + size + size % 2
else:
    sys.exit(deb + ": no data.tar member")
PY
    fi
  done
  # Links that name an absolute path point into the prefix, not the system.
  find "$prefix" -type l -lname '/*' | while read -r link; do
    ln -sfn "$prefix$(readlink "$link")" "$link"
  done
  # Debian makes these names with update-alternatives when it installs.
  for t in mpirun mpiexec mpicc mpicxx; do ln -sfn "$t.openmpi" "$prefix/usr/bin/$t"; done
}
export -f unpack
export prefix debs python
step unpack "$OUT/env.txt" 120 unpack || exit 1
multiarch=lib/x86_64-linux-gnu
export OPAL_PREFIX=$prefix/usr
export PATH=$prefix/usr/bin:$PATH
export LD_LIBRARY_PATH=$prefix/usr/$multiarch:$prefix/$multiarch:$prefix/usr/$multiarch/openmpi/lib:$prefix/usr/$multiarch/hdf5/serial/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# --- configure and build -------------------------------------------------------
torch_cmake=$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
[ -d "$torch_cmake/Torch" ] || torch_cmake=""
configure=(cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
  "-DCMAKE_PREFIX_PATH=$prefix/usr${torch_cmake:+;$torch_cmake}"
  "-DMPI_C_COMPILER=$prefix/usr/bin/mpicc.openmpi" "-DMPIEXEC_EXECUTABLE=$prefix/usr/bin/mpirun"
  "-DHDF5_ROOT=$prefix/usr/$multiarch/hdf5/serial" -DCIR_BUILD_TESTS=ON -DCIR_BUILD_BENCH=ON)
if [ $gpu -eq 1 ]; then
  nccl=$("$python" -c 'import nvidia.nccl; print(list(nvidia.nccl.__path__)[0])' 2>/dev/null || true)
  # USE_SYSTEM_NVTX: PyTorch's CMake package takes NVTX 3 from the CUDA
  # toolkit, which no longer ships the old nvToolsExt library.
  configure+=(-DCIR_WITH_NCCL=ON ${nccl:+"-DNCCL_ROOT=$nccl"} -DUSE_SYSTEM_NVTX=ON
    -DCMAKE_CUDA_ARCHITECTURES=native)
fi
step configure "$OUT/configure.log" 180 "${configure[@]}" || fail_with_log configure "$OUT/configure.log"
# Where every package was found, for the summary's reader.
grep -E '^(fmt|tomlplusplus|CLI11|nlohmann_json|GTest|Torch|libjpeg-turbo)_DIR|^(HDF5_hdf5_LIBRARY_RELEASE|MPI_mpi_LIBRARY|ICU_UC_LIBRARY_RELEASE|PNG_LIBRARY_RELEASE|OPENSSL_CRYPTO_LIBRARY|ZLIB_LIBRARY_RELEASE|NCCL_LIBRARY):' \
  "$build/CMakeCache.txt" >>"$OUT/configure.log"

# Seven minutes of 16 cores on the GPU machine; a rehearsal on a small
# machine takes what it takes.
build_limit=420
[ $gpu -eq 1 ] || { build_limit=7200; deadline=$((deadline + build_limit)); }
targets=(cir-sweep cir-report workers_mpi_test workers_test model_composed_test bench_train_step bench_blas
  bench_loader)
step build "$OUT/build.log" "$build_limit" cmake --build "$build" -j "$jobs" --target "${targets[@]}" -- -k 0 ||
  fail_with_log build "$OUT/build.log"

# --- every shared library resolves --------------------------------------------
check_libraries() {
  local missing=0
  for bin in "$build"/bin/*; do
    [ -x "$bin" ] && [ -f "$bin" ] || continue
    echo "### $(basename "$bin")"
    ldd "$bin" 2>&1
    ldd "$bin" 2>&1 | grep -q 'not found' && missing=1
  done
  echo "### mpirun"; ldd "$prefix/usr/bin/orterun" 2>&1
  echo "### ompi_info --path all"; ompi_info --path all 2>&1
  return $missing
}
export -f check_libraries
export build
step "shared libraries (ldd)" "$OUT/ldd.txt" 60 check_libraries ||
  grep -E '^###|not found' "$OUT/ldd.txt" | grep -B1 'not found' 

# --- tests -----------------------------------------------------------------------
# On the GPU a case that skips for want of CUDA is a failure: CUDA was not found.
cuda_tests() {
  "$@" && { [ "$gpu" -eq 0 ] || ! grep -q "no CUDA device" "$OUT/tests.log"; }
}
export -f cuda_tests
export gpu OUT
mpi_test=$build/bin/workers_mpi_test
step "CUDA collectives, GradientSync, SyncBN, equivalence: 1 rank, NCCL" "$OUT/tests.log" 120 \
  cuda_tests mpirun -n 1 --oversubscribe "$mpi_test" --gtest_filter='*Cuda*'
step "the same, 2 ranks sharing the GPU (MPI backend)" "$OUT/tests.log" 180 \
  cuda_tests mpirun -n 2 --oversubscribe "$mpi_test" --gtest_filter='*Cuda*'
step "the same on the CPU, 2 ranks" "$OUT/tests.log" 180 \
  mpirun -n 2 --oversubscribe "$mpi_test" --gtest_filter='-*Cuda*'
step "full-model training step and recall on the GPU vs the CPU" "$OUT/tests.log" 120 \
  cuda_tests bash -c "'$build/bin/model_composed_test' --gtest_filter='*Cuda*' && '$build/bin/workers_test' --gtest_filter='*Cuda*'"

# --- a 2-epoch synthetic sweep ---------------------------------------------------
device=cpu
[ $gpu -eq 1 ] && device=cuda
# A fresh folder: a store (and checkpoints) of an earlier run would be resumed.
rm -rf "$work/sweep" && mkdir -p "$work/sweep"
sweep=(mpirun -n 2 --oversubscribe "$build/bin/cir-sweep" "$root/sweeps/synthetic/precision.toml"
  --set train.epochs=2 --set "train.device=\"$device\"" --store "$work/sweep/precision.h5" --progress lines)
if step "2-epoch synthetic sweep on $device (sweeps/synthetic/precision.toml)" "$OUT/sweep.log" 300 "${sweep[@]}"; then
  step "its report" "$OUT/sweep.log" 60 "$build/bin/cir-report" "$work/sweep/precision.h5"
fi

# --- benchmarks (GPU only) -------------------------------------------------------
# bench/train_step/run and bench/loader/run print Markdown and "@figure" lines.
if [ $gpu -eq 1 ]; then
  export BUILD=$build PYTHON=$python DEVICE=cuda BATCH=32 SIZE=224 TOKENS=32 STEPS=10 WARMUP=5
  for p in bf16 tf32 fp32; do
    step "train step, $p: cir vs PyTorch eager (batch 32, 224 px, 32 tokens)" "$OUT/bench.log" 120 \
      env PRECISION=$p bash "$root/bench/train_step/run"
  done
  s=$(grep -A1000 'train step, bf16' "$OUT/bench.log" | sed -n 's|^@figure cir_s/step ||p' | head -1)
  if [ -n "$s" ]; then
    step "loader images/s vs the GPU's bf16 demand" "$OUT/bench.log" 90 \
      env WORKERS="4 16" PREFETCH=16 SAMPLES=4096 EPOCHS=3 GPU_SAMPLES_PER_S="$("$python" -c "print(32 / $s)")" \
      bash "$root/bench/loader/run"
  fi
  # The torch.compile anchor last, in whatever time is left.
  step "train step, bf16, with torch.compile as a further anchor" "$OUT/bench.log" 240 \
    env PRECISION=bf16 COMPILE=1 COMPILE_TIMEOUT=200 bash "$root/bench/train_step/run"
  { echo; echo "## Benchmarks"; grep -v '^== ' "$OUT/bench.log"; } >>"$summary"
fi

note ""
note "Finished in $(elapsed) s."
grep -qE "FAILED|SKIPPED" "$summary" && exit 1
exit 0
