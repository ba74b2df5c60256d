#!/usr/bin/env bash
# One data-parallel trial across two nodes (slurm/test-cluster/start
# --nodes 2): sbatch -N 2, one rank per node, ranks_per_trial = 2, so the
# trial's group spans node1 and node2 and every collective of its training
# (feature gathers, synchronised batch norm, gradient sums) crosses between
# the nodes' network namespaces over Open MPI's TCP transport, the only one
# given. Its rows equal the same trial on one rank within 1e-4 (the
# standard of tests/workers/trainer_equivalence_test.cpp).
# Usage: two_node_data_parallel_test.sh SOURCE_DIR BUILD_BIN_DIR. Exits 77
# (skipped) where the cluster cannot run here.
set -uo pipefail
# shellcheck source=tests/slurm/lib.sh
source "$(dirname "$0")/lib.sh"
cluster_test "$1" "$2" 2

spec="$source_dir/tests/slurm/data_parallel_sweep.toml"
mpirun -n 1 "$bin/cir-sweep" "$spec" --store "$work/one-rank.h5" >"$work/one-rank.out" 2>&1 ||
  fail "the one-rank run failed"

job=$(sbatch --parsable -N 2 --ntasks-per-node=1 --output="$work/job-%j.out" --chdir="$work" \
  --wrap "exec bash $source_dir/slurm/run-sweep --launcher 'mpirun -n 2 --mca btl tcp,self' \
  --cir-sweep $bin/cir-sweep $spec --store $work/two-nodes.h5 --set sweep.ranks_per_trial=2") ||
  fail "sbatch refused the job"
wait_job_end "$job" 300
[ "$state" = COMPLETED ] || fail "job $job ended $state"

hosts="$(trial_hosts "$work/two-nodes.h5")"
[ "$hosts" = "node1,node2" ] || fail "the trial's group ran on '$hosts', not on node1 and node2"
/usr/bin/python3 "$source_dir/tests/slurm/compare_stores.py" --tolerance 1e-4 "$work/one-rank.h5" "$work/two-nodes.h5" ||
  fail "the trial on two nodes differs from the one-rank trial by more than 1e-4"
echo "PASS: one trial trained across node1 and node2 over TCP; rows within 1e-4 of one rank"
