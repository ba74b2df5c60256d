// cir-sweep with the real trainer on 2 ranks: every epoch of every trial
// reaches the store with its losses and recalls, and a trial whose loss
// blows up is recorded as diverged while the others finish.
#include <cmath>

#include "tests/workers/trainer_sweep.hpp"

namespace {

using namespace cir::trainer_test;

TEST(TrainerOutcomes, EveryEpochReachesTheStoreAndADivergingTrialIsRecorded) {
  const Sweep sweep =
      tiny_sweep("outcomes", "ranks_per_trial = 1\n", "\n[grid]\n\"train.lr\" = [0.02, 1e12]\n");
  const int code = run_sweep(sweep, 2);
  ASSERT_EQ(code, 4) << "exit code 4 = finished with failed or diverged trials\n" << read_log(sweep);

  const auto reader = cir::store::Reader::open(sweep.store());
  ASSERT_EQ(reader.trials().size(), 2u);
  int done = 0, diverged = 0;
  for (const auto& trial : reader.trials()) {
    const auto epochs = reader.epochs(trial.spec.id);
    if (trial.status == cir::TrialStatus::diverged) {
      ++diverged;
      EXPECT_NE(trial.error.find("loss"), std::string::npos) << trial.error;
      continue;
    }
    ASSERT_EQ(trial.status, cir::TrialStatus::done) << trial.error;
    ++done;
    ASSERT_EQ(epochs.size(), 2u) << "one row per epoch";
    for (const auto& record : epochs) {
      EXPECT_TRUE(std::isfinite(record.loss_total));
      EXPECT_GT(record.loss_info, 0.0);
      EXPECT_GT(record.lr, 0.0);
      EXPECT_GT(record.samples_per_second, 0.0);
      // One split (the synthetic "test"), Recall@1 and @5, each a percentage.
      ASSERT_EQ(record.recalls.size(), 2u) << row_text(record);
      for (const auto& recall : record.recalls) {
        EXPECT_GE(recall.value, 0.0);
        EXPECT_LE(recall.value, 100.0);
      }
      EXPECT_LE(record.recalls[0].value, record.recalls[1].value) << "R@1 <= R@5";
    }
    EXPECT_DOUBLE_EQ(epochs[0].lr, 0.02);
    EXPECT_NEAR(epochs[1].lr, 0.002, 1e-12) << "×0.1 at lr_steps = [1]";
  }
  EXPECT_EQ(done, 1);
  EXPECT_EQ(diverged, 1);
}

}  // namespace
