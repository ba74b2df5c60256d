#!/usr/bin/env bash
# The two-node test cluster (slurm/test-cluster/start --nodes 2): both nodes
# take jobs, a job of two tasks runs one on each node under the node's own
# host name, mpirun in a batch job of two nodes puts one rank on each, and
# stop leaves no namespace, link, daemon or file behind (lib.sh checks on
# exit).
# Usage: two_node_cluster_test.sh SOURCE_DIR BUILD_BIN_DIR. Exits 77
# (skipped) where the cluster cannot run here.
set -uo pipefail
# shellcheck source=tests/slurm/lib.sh
source "$(dirname "$0")/lib.sh"
cluster_test "$1" "$2" 2

[ "$(sinfo -h -N -o '%N' | sort -u | tr '\n' ' ')" = "node1 node2 " ] || fail "sinfo does not list node1 and node2"
hosts="$(timeout 60 srun -N 2 --ntasks-per-node=1 hostname | sort | tr '\n' ' ')"
[ "$hosts" = "node1 node2 " ] || fail "srun -N 2 hostname printed '$hosts', not node1 and node2"

job=$(sbatch --parsable -N 2 --ntasks-per-node=1 --output="$work/mpi-%j.out" --chdir="$work" \
  --wrap "mpirun -n 2 hostname") || fail "sbatch refused the job"
wait_job_end "$job" 120
[ "$state" = COMPLETED ] || fail "the two-node MPI job ended $state"
[ "$(sort "$work/mpi-$job.out" | tr '\n' ' ')" = "node1 node2 " ] ||
  fail "mpirun -n 2 on two nodes did not run one rank on each: $(cat "$work/mpi-$job.out")"
echo "PASS: two nodes up, one task and one MPI rank on each"
