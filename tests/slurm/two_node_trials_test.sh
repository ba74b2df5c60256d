#!/usr/bin/env bash
# Trials spread over two nodes (slurm/test-cluster/start --nodes 2): the
# synthetic test sweep submitted with sbatch -N 2, one rank per node and
# ranks_per_trial = 1, runs its trials on both nodes (each trial's notes name
# the host that ran it) and its store rows equal those of the same sweep run
# on one host. Both runs train on one thread per rank (train.threads = 1): by
# default a rank takes its node's cores divided by the ranks on the node, 1
# on the one host and 2 on each node here, and another thread count sums in
# another order (equal to float rounding, not bit for bit).
# Usage: two_node_trials_test.sh SOURCE_DIR BUILD_BIN_DIR. Exits 77
# (skipped) where the cluster cannot run here.
set -uo pipefail
# shellcheck source=tests/slurm/lib.sh
source "$(dirname "$0")/lib.sh"
cluster_test "$1" "$2" 2

spec="$source_dir/tests/slurm/requeue_sweep.toml"
mpirun -n 2 --oversubscribe "$bin/cir-sweep" "$spec" --set train.threads=1 --store "$work/one-host.h5" \
  >"$work/one-host.out" 2>&1 ||
  fail "the one-host run failed"

job=$(sbatch --parsable -N 2 --ntasks-per-node=1 --output="$work/job-%j.out" --chdir="$work" \
  --wrap "exec bash $source_dir/slurm/run-sweep --launcher 'mpirun -n 2' --cir-sweep $bin/cir-sweep \
  $spec --set train.threads=1 --store $work/two-nodes.h5") || fail "sbatch refused the job"
wait_job_end "$job" 300
[ "$state" = COMPLETED ] || fail "job $job ended $state"

hosts="$(trial_hosts "$work/two-nodes.h5" | sort | tr '\n' ' ')"
[ "$hosts" = "node1 node2 " ] || fail "the two trials ran on '$hosts', not one on node1 and one on node2"
/usr/bin/python3 "$source_dir/tests/slurm/compare_stores.py" "$work/one-host.h5" "$work/two-nodes.h5" ||
  fail "the two-node sweep's store differs from the one-host run's"
echo "PASS: trials ran on node1 and node2; rows equal the one-host run's"
