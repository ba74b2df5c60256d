#!/usr/bin/env bash
# Configures and builds cir into build/ (programs in build/bin). Extra
# arguments go to the configure step (e.g. -DCIR_WITH_NCCL=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so clones and worktrees share hits.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
cmake -S . -B build -G Ninja "$@"
cmake --build build -j "$(nproc)"
