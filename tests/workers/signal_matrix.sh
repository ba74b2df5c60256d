#!/usr/bin/env bash
# The whole signal matrix of tests/workers/trainer_signals_test.cpp, 32
# cells ({TERM, USR1} x {mpirun, process group, every rank, run-sweep} x
# {startup, epoch, eval, commit}); ctest runs 14 of them. Prints each cell's
# result and time. Usage: tests/workers/signal_matrix.sh [BUILD_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 CIR_RUN_SWEEP="$root/slurm/run-sweep"
exec "$build/bin/workers_trainer_signals_test" --gtest_also_run_disabled_tests \
  --gtest_filter='DISABLED_Full/*'
