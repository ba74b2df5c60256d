// A sweep SIGKILLed again and again, every process of the job at once (inside
// a checkpoint write, inside a store commit, and at random moments), and then
// rerun gives exactly the /epochs and /recalls rows and the trial statuses of
// an uninterrupted run (docs/determinism.md "The chaos test and fault points"). The kills
// inside a checkpoint write and a store commit come from CIR_FAULT
// (common/fault.hpp); each round checks that its kill landed where intended.
#include <signal.h>

#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "tests/workers/trainer_sweep.hpp"

namespace {

namespace fs = std::filesystem;
using namespace cir::trainer_test;

constexpr const char* kSweepTable = "ranks_per_trial = 1\nseeds = [0, 1]\n";
// Enough epochs that every kill below lands before the sweep ends: on an
// idle machine an epoch takes ~0.15 s, and the runs below take up to ~11.
constexpr int kEpochs = 14;
const std::vector<std::string> kArgs = {"--set", "train.epochs=" + std::to_string(kEpochs)};

// The state and session of process `pid` ('?' when there is none).
std::pair<char, pid_t> process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return {'?', 0};
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return {'?', 0};
  std::istringstream fields(stat.substr(close + 1));
  char state = '?';
  pid_t parent = 0, group = 0, session = 0;
  fields >> state >> parent >> group >> session;
  return fields ? std::pair{state, session} : std::pair{'?', pid_t{0}};
}

// A process that has not died yet (zombies have).
bool alive(pid_t pid) {
  const char state = process_state(pid).first;
  return state != '?' && state != 'Z' && state != 'X';
}

// The live processes of session `sid`.
std::vector<pid_t> session_members(pid_t sid) {
  std::vector<pid_t> members;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    if (process_state(pid).second == sid && alive(pid)) members.push_back(pid);
  }
  return members;
}

// SIGKILLs every process of session `sid`: mpirun and its ranks, which Open
// MPI puts in process groups of their own, so that killing mpirun's group
// would leave them running. Returns when none is alive.
void kill_session(pid_t sid) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    const std::vector<pid_t> members = session_members(sid);
    if (members.empty()) return;
    for (const pid_t pid : members) kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "processes of session " << sid << " survive SIGKILL";
}

std::map<std::string, std::vector<std::string>> rows_by_trial(const Sweep& sweep) {
  std::map<std::string, std::vector<std::string>> rows;
  const auto reader = cir::store::Reader::open(sweep.store());
  for (const auto& trial : reader.trials()) {
    auto& out = rows[trial.spec.id];
    for (const auto& record : reader.epochs(trial.spec.id)) out.push_back(row_text(record));
  }
  return rows;
}

// Status, committed epochs and error of every trial.
std::map<std::string, std::string> statuses(const Sweep& sweep) {
  std::map<std::string, std::string> out;
  const auto reader = cir::store::Reader::open(sweep.store());
  for (const auto& trial : reader.trials()) {
    out[trial.spec.id] = std::string(cir::to_string(trial.status)) + " epochs " +
                         std::to_string(trial.epochs_done) + " error '" + trial.error + "'";
  }
  return out;
}

// What a kill left must be a store whose rows are, trial by trial, the first
// rows of the uninterrupted run (or no store yet). Returns the rows it holds.
std::size_t expect_prefix_of(const Sweep& sweep,
                             const std::map<std::string, std::vector<std::string>>& reference,
                             const std::string& round) {
  if (!fs::exists(sweep.store())) return 0;
  std::size_t rows = 0;
  for (const auto& [id, trial_rows] : rows_by_trial(sweep)) {
    const auto& expected = reference.at(id);
    EXPECT_LE(trial_rows.size(), expected.size()) << round << ": trial " << id;
    for (std::size_t i = 0; i < trial_rows.size() && i < expected.size(); ++i)
      EXPECT_EQ(trial_rows[i], expected[i]) << round << ": trial " << id << " epoch " << i;
    rows += trial_rows.size();
  }
  return rows;
}

// Checkpoint folders that a kill left half written: the tensors without
// state.json, in a trial's temporary folder.
int half_written_checkpoints(const Sweep& sweep) {
  int found = 0;
  if (!fs::exists(sweep.checkpoints())) return 0;
  for (const auto& trial : fs::directory_iterator(sweep.checkpoints())) {
    for (const auto& entry : fs::directory_iterator(trial.path())) {
      if (entry.path().filename().string().rfind(".tmp-ckpt-", 0) == 0 &&
          fs::exists(entry.path() / "tensors.safetensors") && !fs::exists(entry.path() / "state.json"))
        ++found;
    }
  }
  return found;
}

// The pid the store's lock file names, or -1.
pid_t lock_owner(const Sweep& sweep) {
  std::ifstream in(sweep.store().string() + ".lock");
  std::string word;
  pid_t pid = -1;
  in >> word >> pid;
  return word == "pid" ? pid : -1;
}

// A run in which CIR_FAULT kills a rank at `fault`; the rest of the job is
// SIGKILLed as soon as the rank says so (rather than torn down by mpirun,
// which SIGTERMs the other ranks first). Returns mpirun's exit code.
int run_into_fault(const Sweep& sweep, const std::string& fault, const std::string& log) {
  const pid_t pid = start_sweep(sweep, 2, kArgs, log, {.fault = fault, .own_session = true});
  wait_for_log(sweep, log, "CIR_FAULT: pid", 1, pid);
  kill_session(pid);
  return wait_sweep(pid);
}

// The checkpoints written so far, all trials together (their numbers go on
// across runs).
long checkpoints_written(const Sweep& sweep) {
  long written = 0;
  std::error_code ec;
  for (fs::directory_iterator trial(sweep.checkpoints(), ec), end; !ec && trial != end; trial.increment(ec)) {
    long newest = 0;
    for (fs::directory_iterator it(trial->path(), ec); !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.rfind("ckpt-", 0) == 0) newest = std::max(newest, std::stol(name.substr(5)));
    }
    written += newest;
  }
  return written;
}

// Starts a run and SIGKILLs the whole job once `ready` holds; fails when the
// run ends before that.
template <typename Ready>
void kill_when(const Sweep& sweep, const std::string& round, Ready ready) {
  const pid_t pid = start_sweep(sweep, 2, kArgs, "random.log", {.fault = {}, .own_session = true});
  int status = 0;
  while (!ready()) {
    ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0) << round << ": the run ended before the kill\n"
                                                 << read_log(sweep, "random.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill_session(pid);
  ASSERT_EQ(wait_sweep(pid), 128 + SIGKILL) << round << ": the run ended before the kill\n"
                                            << read_log(sweep, "random.log");
}

TEST(TrainerChaos, SweepKilledInCheckpointWritesStoreCommitsAndAtRandomRerunsToTheSameRows) {
  const Sweep reference = tiny_sweep("chaos-reference", kSweepTable);
  ASSERT_EQ(run_sweep(reference, 2, kArgs), 0) << read_log(reference);
  const auto expected = rows_by_trial(reference);
  ASSERT_EQ(expected.size(), 2u);
  for (const auto& [id, rows] : expected) ASSERT_EQ(rows.size(), static_cast<std::size_t>(kEpochs)) << id;

  const Sweep killed = tiny_sweep("chaos-killed", kSweepTable);

  // Inside a store commit, as it appends to the journal: the first append of
  // the first run (commits within two seconds of the last snapshot append;
  // the first is among the first epochs), whose frame is written, not yet
  // fsynced.
  int code = run_into_fault(killed, "store.append:1", "append.log");
  std::string log = read_log(killed, "append.log");
  ASSERT_EQ(code, 128 + SIGKILL) << log;
  ASSERT_NE(log.find("kills itself at store.append (arrival 1)"), std::string::npos) << log;
  EXPECT_GT(fs::file_size(killed.store().string() + ".journal"), 32u)
      << "the kill did not land inside a commit";
  // The killed writer's lock file stays behind, naming a dead process; the
  // next run takes the lock all the same (it exits 3 if it cannot).
  pid_t owner = lock_owner(killed);
  ASSERT_GT(owner, 0) << "no lock file left behind by the killed writer";
  EXPECT_FALSE(alive(owner)) << "the lock's owner " << owner << " is alive";
  expect_prefix_of(killed, expected, "store.append");

  // Inside a store commit, as it writes a full snapshot: the first commit of
  // the rerun (a writer's first write after opening is a snapshot), which
  // marks the trials running again.
  code = run_into_fault(killed, "store.commit:1", "commit.log");
  log = read_log(killed, "commit.log");
  ASSERT_EQ(code, 128 + SIGKILL) << log;
  ASSERT_NE(log.find("kills itself at store.commit (arrival 1)"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(killed.store().string() + ".tmp")) << "the kill did not land inside a commit";
  owner = lock_owner(killed);
  ASSERT_GT(owner, 0) << "no lock file left behind by the killed writer";
  EXPECT_FALSE(alive(owner)) << "the lock's owner " << owner << " is alive";
  expect_prefix_of(killed, expected, "store.commit");

  // Inside a checkpoint write: the second save of either rank in this run.
  code = run_into_fault(killed, "checkpoint.write:2", "checkpoint.log");
  log = read_log(killed, "checkpoint.log");
  ASSERT_EQ(code, 128 + SIGKILL) << log;
  ASSERT_NE(log.find("kills itself at checkpoint.write (arrival 2)"), std::string::npos) << log;
  // Both ranks may reach their second save before the job is killed.
  EXPECT_GE(half_written_checkpoints(killed), 1) << "the kill did not land inside a checkpoint write";
  expect_prefix_of(killed, expected, "checkpoint.write");

  // At random moments: once during startup (MPI, the store's open, the
  // dataset, the model) or at the latest at the first checkpoint.
  std::random_device entropy;
  const unsigned seed = entropy();
  std::mt19937 random(seed);
  const auto start = std::chrono::steady_clock::now();
  const int delay_ms = std::uniform_int_distribution<int>(0, 1500)(random);
  std::string round =
      "kill " + std::to_string(delay_ms) + " ms after the start (seed " + std::to_string(seed) + ")";
  const long saved = checkpoints_written(killed);
  ASSERT_NO_FATAL_FAILURE(kill_when(killed, round, [&] {
    return std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(delay_ms) ||
           checkpoints_written(killed) > saved;
  }));
  expect_prefix_of(killed, expected, round);

  // Then a preemption whose grace time runs out: the ranks hold at their
  // N-th step of this run (N from 1 to 12, two epochs of the tiny preset)
  // until a stop signal (they then checkpoint, the store is committed, the
  // run exits 75), and 0 to 500 ms later the kill, which lands in the stop or
  // just after it. Either way the next run resumes from what that stop
  // committed, or from the checkpoints. The hold keeps the run from ending
  // before the signal.
  const long step = std::uniform_int_distribution<long>(1, 12)(random);
  const int grace_ms = std::uniform_int_distribution<int>(0, 500)(random);
  round = "stop at step " + std::to_string(step) + " of the run, kill " + std::to_string(grace_ms) +
          " ms later (seed " + std::to_string(seed) + ")";
  const pid_t pid =
      start_sweep(killed, 2, kArgs, "preempted.log",
                  {.fault = "train.step:" + std::to_string(step) + ":hold", .own_session = true});
  ASSERT_TRUE(wait_for_log(killed, "preempted.log", "holds at train.step", 1, pid))
      << round << ": the run ended before the stop\n"
      << read_log(killed, "preempted.log");
  kill(pid, SIGUSR1);
  std::this_thread::sleep_for(std::chrono::milliseconds(grace_ms));
  kill_session(pid);
  code = wait_sweep(pid);
  EXPECT_TRUE(code == 75 || code == 128 + SIGKILL) << round << ": exit " << code << "\n"
                                                   << read_log(killed, "preempted.log");
  RecordProperty("preempted_run_exit", code);
  const std::size_t rows = expect_prefix_of(killed, expected, round);
  RecordProperty("rows_before_the_last_rerun", static_cast<int>(rows));

  ASSERT_EQ(run_sweep(killed, 2, kArgs, "final.log"), 0) << read_log(killed, "final.log");
  EXPECT_EQ(rows_by_trial(killed), expected);
  EXPECT_EQ(statuses(killed), statuses(reference));
}

}  // namespace
