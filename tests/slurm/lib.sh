# shellcheck shell=bash disable=SC2034 # sets variables for the test that sources it
# What the tests of slurm/ share, sourced by each: the skip checks, a work
# folder with a test cluster (slurm/test-cluster) of one or more nodes that is
# stopped on exit and checked to have left nothing behind, and waits on job
# and store states with bounded timeouts.
#
#   source lib.sh; cluster_test SOURCE_DIR BUILD_BIN_DIR NODES
#
# sets source_dir, bin, work (a fresh folder, the jobs' working directory),
# cluster (the cluster's DIR) and SLURM_CONF, or exits 77 (skipped) where
# the cluster cannot run here (not root, packages missing, namespaces not
# permitted).

skip() {
  echo "SKIPPED: $*"
  exit 77
}

fail() {
  echo "FAIL: $*"
  for f in "$work"/*.out "$cluster/slurmctld.log" "$cluster"/slurmd.*.log; do
    [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
  done
  exit 1
}

# wait_until SECONDS WHAT COMMAND…: runs COMMAND every 0.5 s until it
# succeeds; fails the test saying WHAT did not happen after SECONDS.
wait_until() {
  local seconds="$1" what="$2" i
  shift 2
  for ((i = 0; i < seconds * 2; i++)); do
    "$@" && return 0
    sleep 0.5
  done
  fail "$what (waited ${seconds} s)"
}

job_state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
restarts() { scontrol show job "$1" 2>/dev/null | grep -o 'Restarts=[0-9]*' | cut -d= -f2; }
job_ended() {
  case "$(job_state "$1")" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) return 0 ;; esac
  return 1
}

# wait_job_end JOB SECONDS: waits for the job to end; sets state to its end state.
wait_job_end() {
  wait_until "$2" "job $1 did not end" job_ended "$1"
  state="$(job_state "$1")"
}

# epochs_committed STORE: how many /epochs rows the store holds (0 if none).
epochs_committed() {
  [ -f "$1" ] || { echo 0; return; }
  /usr/bin/python3 -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r') as f: print(len(f['epochs']) if 'epochs' in f else 0)" "$1" 2>/dev/null || echo 0
}

# trial_hosts STORE: one line per trial, the hosts of the group that ran it
# (its notes' "hosts", comma-separated in group rank order).
trial_hosts() {
  /usr/bin/python3 -c "
import h5py, json, sys
with h5py.File(sys.argv[1], 'r') as f:
    for notes in f['trials']['notes_json']:
        print(','.join(json.loads(notes).get('hosts', [])))" "$1"
}

# wait_epochs JOB STORE N SECONDS: waits until the running job's store holds
# at least N epoch rows; fails if the job ends first.
store_has_epochs() {
  job_ended "$1" && fail "job $1 ended ($(job_state "$1")) before its store held $3 epoch(s)"
  [ "$(epochs_committed "$2")" -ge "$3" ]
}
wait_epochs() { wait_until "$4" "the store $2 of job $1 never held $3 epoch(s)" store_has_epochs "$1" "$2" "$3"; }

# held_at_step JOB N: the job's log says that at least N ranks, in all its
# runs so far, hold at a step (CIR_FAULT=train.step:<N>:hold, common/fault.hpp).
held_at_step() {
  local n
  n="$(grep -c "holds at train.step" "$work/job-$1.out" 2>/dev/null)"
  [ "${n:-0}" -ge "$2" ]
}

# release_requeued JOB SECONDS: waits for the job's requeue (Restarts goes
# up, the job pends) and makes it eligible now instead of in ~2 minutes.
requeued_pending() {
  job_ended "$1" && fail "job $1 ended ($(job_state "$1")) instead of being requeued"
  [ "$(restarts "$1")" = "$2" ] && [ "$(job_state "$1")" = PENDING ]
}
release_requeued() {
  local before
  before="$(restarts "$1")"
  wait_until "$2" "job $1 was not requeued" requeued_pending "$1" $((before + 1))
  echo "job $1 requeued"
  # slurmd refuses a credential made in the same second as the old run's
  # revocation ("Job credential revoked", the job then fails): release in the
  # next second.
  sleep 2
  scontrol update JobId="$1" StartTime=now >/dev/null 2>&1
}

# expect_resumed JOB STORE REFERENCE: the stopped job is requeued, runs
# again and completes, its log says so, and STORE then holds the rows of the
# uninterrupted run's REFERENCE.
expect_resumed() {
  release_requeued "$1" 300
  wait_job_end "$1" 300
  [ "$state" = COMPLETED ] || fail "job $1 ended $state after its requeue"
  grep -q "requeueing job $1" "$work/job-$1.out" || fail "the log does not say the job was requeued"
  grep -q "all trials done" "$work/job-$1.out" || fail "the log does not say the sweep finished"
  /usr/bin/python3 "$source_dir/tests/slurm/compare_stores.py" "$3" "$2" ||
    fail "the requeued sweep's store differs from the uninterrupted run's"
}

# What the cluster leaves behind, checked on exit: its namespaces, links and
# daemons (and every process that ran in its namespaces), processes still
# naming the work folder, files named after its nodes or port in /tmp,
# /dev/shm and /run, and /etc/hosts.
snapshot_files() { find /tmp /dev/shm /run -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -u; }
leftovers() {
  local pid name
  for pid in $cluster_pids; do kill -0 "$pid" 2>/dev/null && echo "process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline"))"; done
  pgrep -af -- "$work" | sed 's/^/process naming the work folder: /'
  for name in $cluster_netns; do [ -e "/run/netns/$name" ] && echo "namespace $name"; done
  ip -o link show 2>/dev/null | grep -o "cir${CIR_SLURM_PORT}[a-z0-9]*" | sed 's/^/link /'
  comm -13 <(printf '%s\n' "$files_before") <(snapshot_files) |
    grep -E "cir${CIR_SLURM_PORT}|\.node[0-9]+\.|node[0-9]+$" | sed 's/^/file /'
  [ "$(cksum </etc/hosts)" = "$hosts_before" ] || echo "a changed /etc/hosts"
}
finish() {
  local rc=$? left
  trap - EXIT
  cluster_pids="$(cat "$cluster"/*.pid "$cluster/munge/munged.pid" 2>/dev/null)"
  for name in $cluster_netns; do cluster_pids+=" $(ip netns pids "$name" 2>/dev/null | tr '\n' ' ')"; done
  "$source_dir/slurm/test-cluster/stop" "$cluster" >/dev/null 2>&1
  left="$(leftovers)"
  rm -rf "$work"
  if [ -n "$left" ]; then
    echo "FAIL: the test cluster left behind:"
    echo "$left"
    exit 1
  fi
  echo "nothing left behind (namespaces, links, daemons, processes, files)"
  exit "$rc"
}

cluster_test() {
  source_dir="$(cd "$1" && pwd)"
  bin="$(cd "$2" && pwd)"
  local nodes="$3" p rc
  [ "$(id -u)" -eq 0 ] || skip "the test cluster runs its daemons as root"
  local programs=(munged slurmctld slurmd sbatch /usr/bin/python3)
  [ "$nodes" -eq 1 ] || programs+=(ip nsenter unshare flock)
  for p in "${programs[@]}"; do
    command -v "$p" >/dev/null || skip "$p not installed (scripts/install-deps.sh)"
  done

  # Ports of our own per run (slurmctld and slurmd: two in a row), below the
  # kernel's ephemeral range so no client socket holds them, and free now.
  port_free() { ! ss -Htan "( sport = :$1 )" 2>/dev/null | grep -q .; }
  for _ in $(seq 50); do
    CIR_SLURM_PORT=$((20000 + RANDOM % 12000))
    port_free "$CIR_SLURM_PORT" && port_free $((CIR_SLURM_PORT + 1)) && break
  done
  export CIR_SLURM_PORT

  work="$(mktemp -d /tmp/cir-slurm-test.XXXXXX)"
  cluster="$work/cluster"
  cluster_netns=""
  [ "$nodes" -eq 1 ] || cluster_netns="$(seq -f "cir${CIR_SLURM_PORT}-node%g" "$nodes")"
  files_before="$(snapshot_files)"
  hosts_before="$(cksum </etc/hosts)"
  trap finish EXIT
  trap 'exit 1' INT TERM

  "$source_dir/slurm/test-cluster/start" --nodes "$nodes" "$cluster"
  rc=$?
  [ "$rc" -eq 77 ] && skip "the $nodes-node test cluster cannot run here (above)"
  [ "$rc" -eq 0 ] || fail "the test cluster did not start"
  export SLURM_CONF="$cluster/slurm.conf"
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  # Open MPI's session folders and shared-memory files go in the work
  # folder, so that a rank killed with its node leaves none elsewhere.
  mkdir -p "$work/tmp"
  export TMPDIR="$work/tmp" OMPI_MCA_btl_vader_backing_directory="$work/tmp"
  cd "$work" || fail "no work folder"
}
