#!/usr/bin/env bash
# Runs cir's whole test suite on a fresh Debian machine: installs what is
# missing, configures, builds, and runs ctest, then every libFuzzer target
# for 60 s (scripts/fuzz.sh; CIR_FUZZ_SECONDS sets the time, 0 skips it).
# Extra arguments go to ctest (e.g. scripts/test.sh -R Store) and skip the
# fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
# Open MPI refuses root unless told; CI and containers run as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir build --output-on-failure --timeout 900 -j "$(nproc)" "$@"
if [ $# -eq 0 ] && [ "${CIR_FUZZ_SECONDS:-60}" -gt 0 ]; then
  bash scripts/fuzz.sh "${CIR_FUZZ_SECONDS:-60}"
fi
