#!/usr/bin/env bash
# slurm/run-sweep's exit codes and signal handling, without Slurm: a stand-in
# for the launcher (fake_launcher.sh) plays mpirun and cir-sweep together and
# does what each case asks. Checks that run-sweep forwards SIGTERM and SIGUSR1
# as SIGUSR1 (again until the launcher exits), reads the code the ranks agreed
# on from CIR_EXIT_FILE, counts any exit after a stop signal as resumable (75),
# keeps 0, 2, 3 and 4 as they are, and answers 74 (an I/O fault) inside a job
# with scontrol requeuehold (a stand-in scontrol records its arguments) and a
# message that says how to release the job.
# Usage: run_sweep_test.sh SOURCE_DIR
set -uo pipefail
source_dir="$(cd "$1" && pwd)"
work="$(mktemp -d /tmp/cir-run-sweep-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT
failures=0

# The stand-in: writes "ready" once its handler is set, appends each SIGUSR1
# to "signals", and ends as FAKE_PLAN says:
#   exit:N         exit N at once
#   agree:A:N      write A to CIR_EXIT_FILE, then exit N (mpirun after its SIGTERM)
#   linger:A       write A to CIR_EXIT_FILE, then go on for a minute (mpirun's
#                  shutdown timers after a rank exited non-zero)
#   stop:K:N       after the K-th SIGUSR1, exit N
cat >"$work/fake_launcher.sh" <<'FAKE'
#!/usr/bin/env bash
shift # the cir-sweep path run-sweep passes
IFS=: read -r kind a b <<<"$FAKE_PLAN"
count=0
trap 'count=$((count + 1)); echo usr1 >>"$FAKE_DIR/signals"' USR1
trap 'echo term >>"$FAKE_DIR/signals"' TERM
echo $$ >"$FAKE_DIR/pid"
touch "$FAKE_DIR/ready"
case "$kind" in
  exit) exit "$a" ;;
  agree) printf '%s\n' "$a" >"$CIR_EXIT_FILE"; exit "$b" ;;
  linger) printf '%s\n' "$a" >"$CIR_EXIT_FILE"; exec sleep 60 ;;
  stop) while [ "$count" -lt "$a" ]; do sleep 0.05; done; exit "$b" ;;
esac
FAKE
printf '#!/bin/sh\nexit 0\n' >"$work/cir-sweep"
# The stand-in scontrol: appends its arguments to "scontrol", exits FAKE_SCONTROL.
mkdir -p "$work/bin"
printf '#!/bin/sh\necho "$@" >>"$FAKE_DIR/scontrol"\nexit "${FAKE_SCONTROL:-0}"\n' >"$work/bin/scontrol"
chmod +x "$work/fake_launcher.sh" "$work/cir-sweep" "$work/bin/scontrol"

# check NAME PLAN SIGNAL EXPECTED_EXIT [TEXT…]: runs run-sweep with the plan;
# SIGNAL (TERM, USR1 or -) is sent to run-sweep once the stand-in is ready.
# Each TEXT must be in its output, the signals or the scontrol calls. Runs
# with --no-requeue unless JOB names a Slurm job.
check() {
  local name="$1" plan="$2" signal="$3" expected="$4" dir="$work/$1" pid rc text
  shift 4
  mkdir -p "$dir"
  local requeue=(--no-requeue)
  [ -z "${JOB:-}" ] || requeue=()
  FAKE_PLAN="$plan" FAKE_DIR="$dir" SLURM_JOB_ID="${JOB:-}" PATH="$work/bin:$PATH" \
    bash "$source_dir/slurm/run-sweep" "${requeue[@]}" \
    --launcher "bash $work/fake_launcher.sh" --cir-sweep "$work/cir-sweep" spec.toml >"$dir/out" 2>&1 &
  pid=$!
  if [ "$signal" != - ]; then
    for _ in $(seq 400); do [ -f "$dir/ready" ] && break; sleep 0.05; done
    kill "-$signal" "$pid"
  fi
  wait "$pid"
  rc=$?
  kill "$(cat "$dir/pid")" 2>/dev/null
  if [ "$rc" -ne "$expected" ]; then
    echo "FAIL $name: run-sweep exited $rc, not $expected"; sed 's/^/  /' "$dir/out"; failures=$((failures + 1)); return
  fi
  for text in "$@"; do
    if ! grep -q -- "$text" "$dir/out" "$dir/signals" "$dir/scontrol" 2>/dev/null; then
      echo "FAIL $name: no '$text' in its output"; sed 's/^/  /' "$dir/out"; failures=$((failures + 1)); return
    fi
  done
  echo "ok   $name (exit $rc)"
}

check done exit:0 - 0 "all trials done"
check spec-error exit:2 - 2 "Not requeueing"
check store-refused exit:3 - 3 "store refuses"
check trials-failed exit:4 - 4 "failed or diverged"
check crash exit:1 - 1 "failed with exit code 1"
check stopped exit:75 - 75 "rerun the same command"
# mpirun exits 1 after its own SIGTERM while the ranks agreed on 75.
check mpirun-term agree:75:1 - 75 "the ranks agreed on exit 75"
# mpirun still running its shutdown timers: run-sweep goes on without it.
check mpirun-lingers linger:4 - 4 "ending the launcher"
# SIGTERM and SIGUSR1 to run-sweep reach the launcher as SIGUSR1.
check term-forwarded stop:1:75 TERM 75 usr1
check usr1-forwarded stop:1:75 USR1 75 usr1
# A launcher that drops the first one (mpirun in its first ~0.1 s) gets it again.
check forwarded-again stop:2:75 TERM 75 "got SIGTERM"
# After a stop signal, an exit without a meaning of its own is resumable.
check killed-after-stop stop:1:137 TERM 75 "after the stop signal: resumable"
check spec-error-after-stop stop:1:2 TERM 2 "Not requeueing"
# An I/O fault: requeued held inside a job, with how to release it; failed
# with 74 where the held requeue is refused or not wanted.
JOB=42 check io-fault-held exit:74 - 0 "requeuehold 42" "scontrol release 42" "free space"
JOB=42 FAKE_SCONTROL=1 check io-fault-hold-refused exit:74 - 74 "requeuehold 42 failed" "rerun the same command"
check io-fault-no-requeue exit:74 - 74 "I/O fault" "rerun the same command"
# 74 keeps its meaning after a stop signal too (a requeue would hit the same fault).
check io-fault-after-stop stop:1:74 TERM 74 "I/O fault"

if [ "$failures" -ne 0 ]; then echo "$failures failed"; exit 1; fi
echo "all passed"
