// A sweep stopped by SIGUSR1 checkpoints at a step boundary and exits 75;
// rerunning the same command resumes and leaves exactly the rows of an
// uninterrupted run (docs/determinism.md "Resume").
#include <chrono>
#include <thread>

#include "tests/workers/trainer_sweep.hpp"

namespace {

using namespace cir::trainer_test;

constexpr const char* kSweepTable = "ranks_per_trial = 1\nseeds = [0, 1]\n";
// Long enough that the stop lands mid-sweep even on an idle machine, where an
// epoch of the tiny preset takes ~0.2 s and store commits coalesce over 1 s.
const std::vector<std::string> kLonger = {"--set", "train.epochs=10"};

std::size_t rows_so_far(const Sweep& sweep) {
  try {
    return store_rows(sweep).size();
  } catch (const std::exception&) {
    return 0;  // no snapshot yet
  }
}

TEST(TrainerResume, StopThenRerunGivesTheRowsOfAnUninterruptedRun) {
  const Sweep reference = tiny_sweep("resume-reference", kSweepTable);
  ASSERT_EQ(run_sweep(reference, 2, kLonger), 0) << read_log(reference);
  const auto expected = store_rows(reference);
  ASSERT_EQ(expected.size(), 20u);

  const Sweep stopped = tiny_sweep("resume-stopped", kSweepTable);
  const pid_t pid = start_sweep(stopped, 2, kLonger, "first.log");
  while (rows_so_far(stopped) < 1) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  kill(pid, SIGUSR1);
  const int first = wait_sweep(pid);
  ASSERT_EQ(first, 75) << "a stop signal exits 75 (resumable)\n" << read_log(stopped, "first.log");
  ASSERT_LT(rows_so_far(stopped), expected.size()) << "the stop came too late to test a resume";

  ASSERT_EQ(run_sweep(stopped, 2, kLonger, "second.log"), 0) << read_log(stopped, "second.log");
  EXPECT_EQ(store_rows(stopped), expected);
}

}  // namespace
