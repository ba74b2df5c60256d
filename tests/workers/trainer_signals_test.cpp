// The signal matrix (README.md "Stopping a sweep: signals"): SIGTERM and
// SIGUSR1, sent to mpirun, to the process group, to every rank or to
// slurm/run-sweep, during startup (while the ranks load), mid-epoch, during
// an evaluation or during a store commit, end the sweep (run by run-sweep)
// with exit 75, and a rerun leaves the /epochs and /recalls rows of an
// uninterrupted run. The phases are held by fault points
// (CIR_FAULT=<point>:<N>:hold, common/fault.hpp) until the signal arrives,
// so no cell depends on timing. ctest runs the startup cells and a diagonal
// of the others; the DISABLED_Full instantiation holds every cell
// (tests/workers/signal_matrix.sh runs it).
#include <signal.h>

#include <chrono>
#include <thread>

#include "tests/workers/trainer_sweep.hpp"

namespace {

namespace fs = std::filesystem;
using namespace cir::trainer_test;

constexpr const char* kSweepTable = "ranks_per_trial = 1\nseeds = [0, 1]\n";

enum class Target { mpirun, group, ranks, run_sweep };
enum class Phase { startup, epoch, eval, commit };

struct Cell {
  int signal;
  Target target;
  Phase phase;
};

std::string name_of(const Cell& cell) {
  static const char* targets[] = {"mpirun", "group", "ranks", "runsweep"};
  static const char* phases[] = {"startup", "epoch", "eval", "commit"};
  return std::string(cell.signal == SIGTERM ? "TERM" : "USR1") + "_" +
         targets[static_cast<int>(cell.target)] + "_" + phases[static_cast<int>(cell.phase)];
}

std::string cell_name(const ::testing::TestParamInfo<Cell>& info) { return name_of(info.param); }

// How gtest and ctest print a cell.
void PrintTo(const Cell& cell, std::ostream* out) { *out << name_of(cell); }

// Where a phase is held, and how many processes print that they hold there
// before the signal is sent (every rank, or rank 0's coordinator for a
// commit; none for a startup, whose signal goes out as soon as both ranks
// exist, while they load).
struct Hold {
  std::string fault, point;
  int processes = 0;
};

// The third step of epoch 1 (6 steps an epoch): epoch 0 is committed.
constexpr const char* kEpochHold = "train.step:9:hold";

Hold hold_of(Phase phase) {
  switch (phase) {
    case Phase::startup:
      // Ranks that get the signal while they load stop before their first
      // step; a signal that mpirun passes on only after its
      // odls_base_sigkill_timeout finds them held there, not finished.
      return {"train.step:1:hold", "", 0};
    case Phase::epoch:
      return {kEpochHold, "train.step", 2};
    case Phase::eval:
      return {"eval.split:1:hold", "eval.split", 2};
    case Phase::commit:
      // With the trainers held, the coordinator's first journal frame (it
      // commits while idle, a second after the snapshot it wrote at the
      // start) comes mid-sweep; it holds there.
      return {std::string(kEpochHold) + ",store.append:1:hold", "store.append", 1};
  }
  return {};
}

// The children of `pid` (of any of its threads) whose program is `program`.
std::vector<pid_t> children(pid_t pid, const std::string& program) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (fs::directory_iterator task("/proc/" + std::to_string(pid) + "/task", ec), end; !ec && task != end;
       task.increment(ec)) {
    std::ifstream list(task->path() / "children");
    for (pid_t child = 0; list >> child;) {
      std::ifstream comm("/proc/" + std::to_string(child) + "/comm");
      std::string name;
      if (std::getline(comm, name) && name == program) found.push_back(child);
    }
  }
  return found;
}

pid_t mpirun_of(pid_t run_sweep) {
  const auto found = children(run_sweep, "mpirun");
  return found.empty() ? -1 : found.front();
}

// The ranks once both have become cir-sweep-main (cir-sweep blocked the
// stop signals and exec'd it; it is loading LibTorch or past that).
std::vector<pid_t> ranks_of(pid_t run_sweep) {
  const pid_t mpirun = mpirun_of(run_sweep);
  return mpirun > 0 ? children(mpirun, "cir-sweep-main") : std::vector<pid_t>{};
}

void send(const Cell& cell, pid_t run_sweep) {
  switch (cell.target) {
    case Target::run_sweep:
      kill(run_sweep, cell.signal);
      return;
    case Target::group:  // run-sweep and mpirun; Open MPI gives each rank a group of its own
      kill(-run_sweep, cell.signal);
      return;
    case Target::mpirun:
      kill(mpirun_of(run_sweep), cell.signal);
      return;
    case Target::ranks:
      for (const pid_t rank : ranks_of(run_sweep)) kill(rank, cell.signal);
      return;
  }
}

class SignalMatrix : public ::testing::TestWithParam<Cell> {
 protected:
  static void SetUpTestSuite() {
    // mpirun's answer to its own SIGTERM waits this long twice (run-sweep
    // keeps a value set here); long enough for the ranks to commit.
    setenv("OMPI_MCA_odls_base_sigkill_timeout", "5", 1);
    const Sweep reference = tiny_sweep("signals-reference", kSweepTable);
    ASSERT_EQ(run_sweep(reference, 2), 0) << read_log(reference);
    expected_ = new std::vector<std::string>(store_rows(reference));
    ASSERT_EQ(expected_->size(), 4u);
  }
  static void TearDownTestSuite() { delete expected_; }
  static std::vector<std::string>* expected_;
};
std::vector<std::string>* SignalMatrix::expected_ = nullptr;

TEST_P(SignalMatrix, StopsWith75AndTheRerunHasTheRowsOfAnUninterruptedRun) {
  ASSERT_NE(expected_, nullptr);
  const Cell cell = GetParam();
  const Hold hold = hold_of(cell.phase);
  const Sweep sweep = tiny_sweep("signals-" + name_of(cell), kSweepTable);
  const pid_t pid =
      start_sweep(sweep, 2, {}, "stopped.log", {.fault = hold.fault, .own_session = true, .run_sweep = true});
  if (hold.processes > 0) {
    ASSERT_TRUE(wait_for_log(sweep, "stopped.log", "holds at " + hold.point, hold.processes, pid))
        << "the sweep ended before it held at " << hold.point << "\n"
        << read_log(sweep, "stopped.log");
  } else {
    while (ranks_of(pid).size() < 2) {
      ASSERT_FALSE(ended(pid)) << "the sweep ended before its ranks started\n"
                               << read_log(sweep, "stopped.log");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  send(cell, pid);
  ASSERT_EQ(wait_sweep(pid), 75) << read_log(sweep, "stopped.log");
  // Signals that reach the ranks at once stop a startup before any epoch;
  // mpirun passes its own SIGTERM on only after odls_base_sigkill_timeout.
  const bool delayed =
      cell.signal == SIGTERM && (cell.target == Target::mpirun || cell.target == Target::group);
  if (cell.phase == Phase::startup && !delayed) {
    const std::size_t rows = fs::exists(sweep.store()) ? store_rows(sweep).size() : 0;
    EXPECT_EQ(rows, 0u) << "a stop during startup ran epochs\n" << read_log(sweep, "stopped.log");
  }

  ASSERT_EQ(run_sweep(sweep, 2, {}, "rerun.log"), 0) << read_log(sweep, "rerun.log");
  EXPECT_EQ(store_rows(sweep), *expected_);
}

std::vector<Cell> cells(const std::vector<Phase>& phases) {
  std::vector<Cell> out;
  for (const Phase phase : phases)
    for (const int signal : {SIGTERM, SIGUSR1})
      for (const Target target : {Target::mpirun, Target::group, Target::ranks, Target::run_sweep})
        out.push_back({signal, target, phase});
  return out;
}

// ctest: every startup cell, and the diagonal (each signal and target once)
// over the held phases.
INSTANTIATE_TEST_SUITE_P(Ci, SignalMatrix, ::testing::ValuesIn([] {
                           std::vector<Cell> out = cells({Phase::startup});
                           out.push_back({SIGUSR1, Target::mpirun, Phase::epoch});
                           out.push_back({SIGTERM, Target::ranks, Phase::epoch});
                           out.push_back({SIGTERM, Target::run_sweep, Phase::eval});
                           out.push_back({SIGUSR1, Target::group, Phase::eval});
                           out.push_back({SIGUSR1, Target::ranks, Phase::commit});
                           out.push_back({SIGTERM, Target::mpirun, Phase::commit});
                           return out;
                         }()),
                         cell_name);
INSTANTIATE_TEST_SUITE_P(
    DISABLED_Full, SignalMatrix,
    ::testing::ValuesIn(cells({Phase::startup, Phase::epoch, Phase::eval, Phase::commit})), cell_name);

}  // namespace
