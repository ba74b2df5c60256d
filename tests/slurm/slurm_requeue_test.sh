#!/usr/bin/env bash
# Slurm end to end, on a real single-node Slurm (slurm/test-cluster):
#  1. the synthetic test sweep submitted with sbatch, sent SIGUSR1 mid-sweep
#     (scancel --signal=USR1 --batch), is requeued, resumes, is preempted
#     again with plain SIGTERM to every process of the job (as Slurm's
#     preemption without preempt_send_user_signal does: scancel --signal=TERM
#     --full), is requeued again and finishes with the same store rows as an
#     uninterrupted run of the same spec;
#  2. a job with a bad spec ends FAILED with the message in its log and is not
#     requeued.
# Usage: slurm_requeue_test.sh SOURCE_DIR BUILD_BIN_DIR. Exits 77 (skipped)
# when the Slurm daemons cannot run here (not root, packages missing).
set -uo pipefail
# shellcheck source=tests/slurm/lib.sh
source "$(dirname "$0")/lib.sh"
cluster_test "$1" "$2" 1

spec="$source_dir/tests/slurm/requeue_sweep.toml"

# The reference: the same sweep, uninterrupted, outside Slurm.
mpirun -n 2 --oversubscribe "$bin/cir-sweep" "$spec" --store "$work/reference.h5" >"$work/reference.out" 2>&1 ||
  fail "the uninterrupted reference run failed"

# --- 1. preempted mid-sweep twice, requeued, resumed ---------------------------
# The first two runs hold every rank at its 9th step (in epoch 1 or later,
# CIR_FAULT=train.step:9:hold, common/fault.hpp) until the stop signal, so
# neither can finish before it; the third runs to the end.
job=$(sbatch --parsable --ntasks=2 --requeue --open-mode=append --output="$work/job-%j.out" \
  --chdir="$work" --wrap "[ \${SLURM_RESTART_COUNT:-0} -ge 2 ] || export CIR_FAULT=train.step:9:hold
  exec bash $source_dir/slurm/run-sweep --launcher 'mpirun -n 2 --oversubscribe' \
  --cir-sweep $bin/cir-sweep $spec --store $work/preempted.h5") || fail "sbatch refused the job"
echo "submitted job $job"

wait_epochs "$job" "$work/preempted.h5" 1 300
wait_until 300 "the ranks of job $job never held at train.step" held_at_step "$job" 2
scancel --signal=USR1 --batch "$job" || fail "scancel --signal=USR1 --batch failed"
echo "sent SIGUSR1 to job $job"
release_requeued "$job" 300

wait_until 300 "the ranks of the requeued job $job never held at train.step" held_at_step "$job" 4
scancel --signal=TERM --full "$job" || fail "scancel --signal=TERM --full failed"
echo "sent SIGTERM to every process of job $job"
expect_resumed "$job" "$work/preempted.h5" "$work/reference.h5"
[ "$(grep -c "requeueing job $job" "$work/job-$job.out")" -eq 2 ] || fail "the log does not say the job was requeued twice"

# --- 2. a real failure: not requeued, reason in the log ------------------------
printf '[sweep]\nname = "bad"\n[train]\nepochs = "many"\n' >"$work/bad.toml"
bad=$(sbatch --parsable --ntasks=1 --requeue --output="$work/bad-%j.out" --chdir="$work" \
  --wrap "exec bash $source_dir/slurm/run-sweep --launcher 'mpirun -n 1' --cir-sweep $bin/cir-sweep $work/bad.toml") ||
  fail "sbatch refused the bad job"
wait_job_end "$bad" 120
[ "$state" = FAILED ] || fail "the bad-spec job ended $state, not FAILED"
[ "$(restarts "$bad")" = 0 ] || fail "the bad-spec job was requeued"
grep -q "train.epochs" "$work/bad-$bad.out" || fail "the bad-spec job's log does not name the bad key"
grep -q "Not requeueing" "$work/bad-$bad.out" || fail "the bad-spec job's log does not say it was not requeued"

echo "1 passed, 0 failed"
echo "PASS: preempted job requeued and matched the uninterrupted store; bad spec failed without requeue"
