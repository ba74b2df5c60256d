#!/usr/bin/env bash
# Fuzzes the sweep-spec loader with libFuzzer for SECONDS (default 60):
# builds the orchestration half with clang into build-fuzz/ and starts from
# the shipped sweeps and the bad-spec corpus. Exits non-zero on a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  -DCIR_WITH_TORCH=OFF -DCIR_FUZZ=ON -DCIR_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz --target launcher_spec_fuzz -j "$(nproc)"
corpus="build-fuzz/spec_corpus"
mkdir -p "$corpus"
for f in sweeps/*.toml sweeps/synthetic/*.toml tests/bad_specs/*.toml; do cp "$f" "$corpus/${f//\//_}"; done
build-fuzz/bin/launcher_spec_fuzz -max_total_time="$seconds" -max_len=4096 -timeout=10 "$corpus"
