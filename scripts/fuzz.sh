#!/usr/bin/env bash
# Fuzzes every parser of outside bytes with libFuzzer for SECONDS each
# (default 60): builds the targets of tests/fuzz/ with clang, AddressSanitizer
# and libFuzzer's coverage into build-fuzz/ (without LibTorch, whose headers
# clang 14 does not compile as C++20) and runs them one after another
# from their checked-in corpora (the spec target also from the shipped sweeps
# and the bad-spec corpus). New inputs stay in build-fuzz/corpus/; a crash
# leaves its input in build-fuzz/crashes/<target>/ and makes the script exit
# non-zero. docs/hostile-inputs.md "Fuzzing" says what each target checks.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET…]   (targets: spec captions image safetensors store)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(spec captions image safetensors store)
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  -DCIR_WITH_TORCH=OFF -DCIR_FUZZ=ON -DCIR_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz --target "${targets[@]/%/_fuzz}" -j "$(nproc)"
# HDF5 and the other libraries are not built with the sanitizer; leaks are not crashes.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
status=0
for target in "${targets[@]}"; do
  corpus="build-fuzz/corpus/$target"
  crashes="build-fuzz/crashes/$target"
  mkdir -p "$corpus" "$crashes"
  cp tests/fuzz/corpus/"$target"/* "$corpus"/
  if [ "$target" = spec ]; then
    for f in sweeps/*.toml sweeps/synthetic/*.toml tests/bad_specs/*.toml; do cp "$f" "$corpus/${f//\//_}"; done
  fi
  echo "fuzz.sh: $target for ${seconds}s"
  if ! build-fuzz/bin/"${target}"_fuzz -max_total_time="$seconds" -max_len=8192 -timeout=30 \
      -rss_limit_mb=4096 -artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" 2>"build-fuzz/$target.log"; then
    tail -n 40 "build-fuzz/$target.log"
    echo "fuzz.sh: $target crashed; the input is in $crashes/ (add it to tests/fuzz/crashes/$target/ with the fix)"
    status=1
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "build-fuzz/$target.log" |
    sed "s/^/fuzz.sh: $target /"
done
exit "$status"
