#!/usr/bin/env bash
# A node lost mid-sweep (slurm/test-cluster/start --nodes 2): the synthetic
# test sweep runs on 2 nodes, one rank each; once epochs are committed, node2
# dies (its slurmd and every process in its namespace, the Open MPI daemon
# and the rank, are SIGKILLed). The job ends rather than hanging, not
# requeued (a lost rank is not a resumable stop), Slurm marks node2 down,
# the store holds a valid prefix of the sweep, and a rerun on node1 alone
# finishes with the rows of an uninterrupted run (one thread per rank in
# every run, as in two_node_trials_test.sh).
# Usage: two_node_lost_test.sh SOURCE_DIR BUILD_BIN_DIR. Exits 77 (skipped)
# where the cluster cannot run here.
set -uo pipefail
# shellcheck source=tests/slurm/lib.sh
source "$(dirname "$0")/lib.sh"
cluster_test "$1" "$2" 2

spec="$source_dir/tests/slurm/requeue_sweep.toml"
mpirun -n 2 --oversubscribe "$bin/cir-sweep" "$spec" --set train.threads=1 --store "$work/reference.h5" \
  >"$work/reference.out" 2>&1 || fail "the uninterrupted reference run failed"

# Both ranks hold at their 9th step (in epoch 1 or later,
# CIR_FAULT=train.step:9:hold, common/fault.hpp), so the sweep is unfinished
# when node2 dies.
job=$(sbatch --parsable -N 2 --ntasks-per-node=1 --no-requeue --output="$work/job-%j.out" --chdir="$work" \
  --wrap "CIR_FAULT=train.step:9:hold exec bash $source_dir/slurm/run-sweep \
  --launcher 'mpirun -n 2 -x CIR_FAULT' --cir-sweep $bin/cir-sweep \
  $spec --set train.threads=1 --store $work/lost.h5") || fail "sbatch refused the job"
echo "submitted job $job"
wait_epochs "$job" "$work/lost.h5" 2 300
wait_until 300 "the ranks of job $job never held at train.step" held_at_step "$job" 2

# node2 dies: its slurmd and everything running in its namespace, at once.
victims="$(cat "$cluster/slurmd.node2.pid") $(ip netns pids "cir${CIR_SLURM_PORT}-node2" | tr '\n' ' ')"
# shellcheck disable=SC2086
kill -KILL $victims || fail "could not kill node2's processes ($victims)"
echo "killed node2: pids $victims"

wait_job_end "$job" 180
[ "$state" != COMPLETED ] || fail "job $job completed although node2 died"
echo "job $job ended $state"
grep -q "Not requeueing" "$work/job-$job.out" || fail "the log does not say the job was not requeued"
[ "$(restarts "$job")" = 0 ] || fail "job $job was requeued after losing node2"
node_down() { sinfo -h -n node2 -o '%T' | grep -q down; }
wait_until 120 "Slurm did not mark node2 down" node_down
/usr/bin/python3 "$source_dir/tests/slurm/compare_stores.py" --prefix "$work/reference.h5" "$work/lost.h5" ||
  fail "the store of the job that lost node2 is not a valid prefix of the sweep"
[ "$(epochs_committed "$work/lost.h5")" -lt 20 ] || fail "the sweep had finished before node2 died"

rerun=$(sbatch --parsable -N 1 -w node1 --ntasks=2 --output="$work/rerun-%j.out" --chdir="$work" \
  --wrap "exec bash $source_dir/slurm/run-sweep --launcher 'mpirun -n 2' --cir-sweep $bin/cir-sweep \
  $spec --set train.threads=1 --store $work/lost.h5") || fail "sbatch refused the rerun"
wait_job_end "$rerun" 300
[ "$state" = COMPLETED ] || fail "the rerun on node1 ended $state"
/usr/bin/python3 "$source_dir/tests/slurm/compare_stores.py" "$work/reference.h5" "$work/lost.h5" ||
  fail "the rerun's store differs from the uninterrupted run's"
echo "PASS: node2 lost mid-sweep: the job ended, the store held a valid prefix, a rerun on node1 finished it"
