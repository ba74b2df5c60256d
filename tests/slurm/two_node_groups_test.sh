#!/usr/bin/env bash
# Node-aware groups on two nodes (slurm/test-cluster/start --nodes 2): 4
# ranks, 2 per node, ranks_per_trial = 2, and mpirun deals the ranks out
# round-robin (--map-by node: ranks 0 and 2 on node1, 1 and 3 on node2), so
# groups of consecutive ranks would each span both nodes. cir keeps each
# group on one node instead (launcher/groups.hpp): each trial's notes name
# one node twice, and both nodes ran a trial.
# Usage: two_node_groups_test.sh SOURCE_DIR BUILD_BIN_DIR. Exits 77
# (skipped) where the cluster cannot run here.
set -uo pipefail
# shellcheck source=tests/slurm/lib.sh
source "$(dirname "$0")/lib.sh"
cluster_test "$1" "$2" 2

spec="$source_dir/tests/slurm/requeue_sweep.toml"
job=$(sbatch --parsable -N 2 --ntasks-per-node=2 --output="$work/job-%j.out" --chdir="$work" \
  --wrap "exec bash $source_dir/slurm/run-sweep --launcher 'mpirun -n 4 --map-by node' \
  --cir-sweep $bin/cir-sweep $spec --store $work/groups.h5 --set sweep.ranks_per_trial=2 \
  --set train.epochs=2 --set train.lr_steps=[1]") || fail "sbatch refused the job"
wait_job_end "$job" 300
[ "$state" = COMPLETED ] || fail "job $job ended $state"
grep -q "4 rank(s): 2 group(s) of 2" "$work/job-$job.out" || fail "the log does not say 4 ranks made 2 groups of 2"

hosts="$(trial_hosts "$work/groups.h5" | sort | tr '\n' ' ')"
[ "$hosts" = "node1,node1 node2,node2 " ] ||
  fail "the groups ran on '$hosts', not one group on node1 and one on node2"
echo "PASS: with ranks dealt round-robin over the nodes, each group of 2 stayed on one node"
