#!/usr/bin/env bash
# Configures and builds cir into build/ (programs in build/bin). Extra
# arguments go to the configure step (e.g. -DCIR_WITH_NCCL=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja "$@"
cmake --build build -j "$(nproc)"
