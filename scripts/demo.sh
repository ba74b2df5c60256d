#!/usr/bin/env bash
# The main job on the built-in synthetic data: the γ0 ablation (the paper's
# Table 5) on 2 MPI ranks, then its table and loss figure. Installs and
# builds as needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for program in cir-sweep cir-report; do
  if [ ! -x "build/bin/$program" ]; then
    echo "demo: build/bin/$program is not built yet (its issue has not landed); nothing to run" >&2
    exit 1
  fi
done
mpirun -n 2 --oversubscribe build/bin/cir-sweep sweeps/synthetic/gamma0.toml "$@"
build/bin/cir-report results/synthetic_gamma0.h5
