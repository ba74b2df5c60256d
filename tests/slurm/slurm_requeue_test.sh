#!/usr/bin/env bash
# Slurm end to end, on a real single-node Slurm (slurm/test-cluster):
#  1. the synthetic test sweep submitted with sbatch, sent SIGUSR1 mid-sweep
#     (scancel --signal=USR1 --batch), is requeued, resumes and finishes with
#     the same store rows as an uninterrupted run of the same spec;
#  2. a job with a bad spec ends FAILED with the message in its log and is not
#     requeued.
# Usage: slurm_requeue_test.sh SOURCE_DIR BUILD_BIN_DIR. Exits 77 (skipped)
# when the Slurm daemons cannot run here (not root, packages missing).
set -uo pipefail
source_dir="$(cd "$1" && pwd)"
bin="$(cd "$2" && pwd)"

skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "the test cluster runs its daemons as root"
for p in munged slurmctld slurmd sbatch /usr/bin/python3; do
  command -v "$p" >/dev/null || skip "$p not installed (scripts/install-deps.sh)"
done

work="$(mktemp -d /tmp/cir-slurm-test.XXXXXX)"
cluster="$work/cluster"
cleanup() {
  "$source_dir/slurm/test-cluster/stop" "$cluster" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
  echo "FAIL: $*"
  for f in "$work"/*.out "$cluster/slurmctld.log"; do [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }; done
  exit 1
}

# Ports of our own per run (slurmctld and slurmd: two in a row), below the
# kernel's ephemeral range so no client socket holds them, and free now.
port_free() { ! ss -Htan "( sport = :$1 )" 2>/dev/null | grep -q .; }
for _ in $(seq 50); do
  CIR_SLURM_PORT=$((20000 + RANDOM % 12000))
  port_free "$CIR_SLURM_PORT" && port_free $((CIR_SLURM_PORT + 1)) && break
done
export CIR_SLURM_PORT
"$source_dir/slurm/test-cluster/start" "$cluster" || fail "the test cluster did not start"
export SLURM_CONF="$cluster/slurm.conf"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

spec="$source_dir/tests/slurm/requeue_sweep.toml"
cd "$work"

# The reference: the same sweep, uninterrupted, outside Slurm.
mpirun -n 2 --oversubscribe "$bin/cir-sweep" "$spec" --store "$work/reference.h5" >"$work/reference.out" 2>&1 ||
  fail "the uninterrupted reference run failed"

job_state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
restarts() { scontrol show job "$1" 2>/dev/null | grep -o 'Restarts=[0-9]*' | cut -d= -f2; }

# --- 1. preempted mid-sweep, requeued, resumed ---------------------------------
job=$(sbatch --parsable --ntasks=2 --requeue --open-mode=append --output="$work/job-%j.out" \
  --chdir="$work" --wrap "exec bash $source_dir/slurm/run-sweep --launcher 'mpirun -n 2 --oversubscribe' \
  --cir-sweep $bin/cir-sweep $spec --store $work/preempted.h5") || fail "sbatch refused the job"
echo "submitted job $job"

# Wait until the sweep has committed its first epoch, then preempt it.
for _ in $(seq 600); do
  [ -f "$work/preempted.h5" ] && /usr/bin/python3 -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r') as f: sys.exit(0 if len(f['epochs']) > 0 else 1)" "$work/preempted.h5" 2>/dev/null && break
  # One reading per poll, and only an end state fails: a starting job passes
  # through CONFIGURING, and scontrol may briefly answer nothing.
  state="$(job_state "$job")"
  case "$state" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL) fail "job $job ended before the signal: $state" ;; esac
  sleep 0.5
done
scancel --signal=USR1 --batch "$job" || fail "scancel --signal=USR1 --batch failed"
echo "sent SIGUSR1 to job $job"

requeued=0
for _ in $(seq 600); do
  state="$(job_state "$job")"
  if [ "$(restarts "$job")" = 1 ] && [ "$requeued" = 0 ] && [ "$state" = PENDING ]; then
    requeued=1
    echo "job $job requeued ($state)"
    # Slurm holds a requeued job ~2 minutes before it is eligible again; a
    # test need not wait that out. But slurmd refuses a credential made in
    # the same second as the old run's revocation ("Job credential revoked",
    # the job then fails), so the release waits for the next seconds.
    sleep 2
    scontrol update JobId="$job" StartTime=now >/dev/null 2>&1
  fi
  case "$state" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL) break ;; esac
  sleep 0.5
done
[ "$requeued" = 1 ] || fail "job $job was not requeued after SIGUSR1"
[ "$state" = COMPLETED ] || fail "job $job ended $state after its requeue"
grep -q "requeueing job $job" "$work/job-$job.out" || fail "the log does not say the job was requeued"
grep -q "all trials done" "$work/job-$job.out" || fail "the log does not say the sweep finished"

/usr/bin/python3 "$source_dir/tests/slurm/compare_stores.py" "$work/reference.h5" "$work/preempted.h5" ||
  fail "the requeued sweep's store differs from the uninterrupted run's"

# --- 2. a real failure: not requeued, reason in the log ------------------------
printf '[sweep]\nname = "bad"\n[train]\nepochs = "many"\n' >"$work/bad.toml"
bad=$(sbatch --parsable --ntasks=1 --requeue --output="$work/bad-%j.out" --chdir="$work" \
  --wrap "exec bash $source_dir/slurm/run-sweep --launcher 'mpirun -n 1' --cir-sweep $bin/cir-sweep $work/bad.toml") ||
  fail "sbatch refused the bad job"
for _ in $(seq 240); do
  state="$(job_state "$bad")"
  case "$state" in COMPLETED | FAILED | CANCELLED | TIMEOUT) break ;; esac
  sleep 0.5
done
[ "$state" = FAILED ] || fail "the bad-spec job ended $state, not FAILED"
[ "$(restarts "$bad")" = 0 ] || fail "the bad-spec job was requeued"
grep -q "train.epochs" "$work/bad-$bad.out" || fail "the bad-spec job's log does not name the bad key"
grep -q "Not requeueing" "$work/bad-$bad.out" || fail "the bad-spec job's log does not say it was not requeued"

echo "1 passed, 0 failed"
echo "PASS: preempted job requeued and matched the uninterrupted store; bad spec failed without requeue"
