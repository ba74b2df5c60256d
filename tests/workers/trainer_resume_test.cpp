// A sweep stopped by SIGUSR1 checkpoints at a step boundary and exits 75;
// rerunning the same command resumes and leaves exactly the rows of an
// uninterrupted run (docs/determinism.md "Resume"). The ranks hold at a step
// of their second epoch (CIR_FAULT=train.step:N:hold, common/fault.hpp)
// until the signal arrives, so the sweep cannot finish first.
#include "tests/workers/trainer_sweep.hpp"

namespace {

using namespace cir::trainer_test;

constexpr const char* kSweepTable = "ranks_per_trial = 1\nseeds = [0, 1]\n";
const std::vector<std::string> kLonger = {"--set", "train.epochs=10"};
// The third step of epoch 1 (the tiny preset trains 6 steps an epoch).
constexpr const char* kHold = "train.step:9:hold";

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
  const pid_t pid = start_sweep(stopped, 2, kLonger, "first.log", {.fault = kHold});
  ASSERT_TRUE(wait_for_log(stopped, "first.log", "holds at train.step", 2, pid))
      << "the sweep ended before its ranks held at train.step\n"
      << read_log(stopped, "first.log");
  kill(pid, SIGUSR1);
  const int first = wait_sweep(pid);
  ASSERT_EQ(first, 75) << "a stop signal exits 75 (resumable)\n" << read_log(stopped, "first.log");
  // Each trial committed its first epoch and stopped in its second.
  ASSERT_EQ(rows_so_far(stopped), 2u) << read_log(stopped, "first.log");

  ASSERT_EQ(run_sweep(stopped, 2, kLonger, "second.log"), 0) << read_log(stopped, "second.log");
  EXPECT_EQ(store_rows(stopped), expected);
}

}  // namespace
