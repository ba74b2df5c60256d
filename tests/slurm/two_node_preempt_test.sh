#!/usr/bin/env bash
# Preemption of a two-node job (slurm/test-cluster/start --nodes 2): the
# synthetic test sweep on 2 nodes, one rank each, is stopped mid-sweep by a
# signal, requeued by slurm/run-sweep, resumes on the two nodes and finishes
# with the rows of an uninterrupted run. SIGNAL is
#   usr1  SIGUSR1 to the batch shell (scancel --signal=USR1 --batch): what
#         sbatch --signal=B:USR1@90 sends before the time limit, and what
#         preemption sends where preempt_send_user_signal is set;
#   term  SIGTERM to every process of the job, batch shell, mpirun, the
#         remote node's Open MPI daemon and every rank (scancel --full
#         --signal=TERM): what preemption sends without --signal.
# Both runs train on one thread per rank (train.threads = 1, as in
# two_node_trials_test.sh).
# Usage: two_node_preempt_test.sh SOURCE_DIR BUILD_BIN_DIR SIGNAL. Exits 77
# (skipped) where the cluster cannot run here.
set -uo pipefail
# shellcheck source=tests/slurm/lib.sh
source "$(dirname "$0")/lib.sh"
signal="${3:?usage: two_node_preempt_test.sh SOURCE_DIR BUILD_BIN_DIR usr1|term}"
case "$signal" in
  usr1) stop=(scancel --signal=USR1 --batch) ;;
  term) stop=(scancel --full --signal=TERM) ;;
  *) echo "two_node_preempt_test.sh: SIGNAL is usr1 or term, not '$signal'" >&2; exit 2 ;;
esac
cluster_test "$1" "$2" 2

spec="$source_dir/tests/slurm/requeue_sweep.toml"
mpirun -n 2 --oversubscribe "$bin/cir-sweep" "$spec" --set train.threads=1 --store "$work/reference.h5" \
  >"$work/reference.out" 2>&1 || fail "the uninterrupted reference run failed"

# The first run holds both ranks at their 9th step (in epoch 1 or later,
# CIR_FAULT=train.step:9:hold, common/fault.hpp) until the stop signal, so
# it cannot finish before the signal; the requeued run goes to the end.
job=$(sbatch --parsable -N 2 --ntasks-per-node=1 --requeue --open-mode=append --output="$work/job-%j.out" \
  --chdir="$work" --wrap "export CIR_FAULT=\$([ \${SLURM_RESTART_COUNT:-0} -ge 1 ] || echo train.step:9:hold)
  exec bash $source_dir/slurm/run-sweep --launcher 'mpirun -n 2 -x CIR_FAULT' \
  --cir-sweep $bin/cir-sweep $spec --set train.threads=1 --store $work/preempted.h5") ||
  fail "sbatch refused the job"
echo "submitted job $job"

wait_epochs "$job" "$work/preempted.h5" 2 300
wait_until 300 "the ranks of job $job never held at train.step" held_at_step "$job" 2
"${stop[@]}" "$job" || fail "${stop[*]} $job failed"
echo "sent: ${stop[*]} $job"

expect_resumed "$job" "$work/preempted.h5" "$work/reference.h5"
grep -qF "(restart 1, nodes node[1-2])" "$work/job-$job.out" || fail "the requeued job did not run on node1 and node2"
echo "PASS: preempted by $signal on two nodes, requeued, resumed, rows equal the uninterrupted run's"
