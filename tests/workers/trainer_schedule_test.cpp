// The learning-rate schedules and the checkpointed trial state.
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.hpp"
#include "tests/common/distinct_fields.hpp"
#include "workers/lr_schedule.hpp"
#include "workers/trial_state.hpp"

namespace {

using cir::workers::lr_factor;
using cir::workers::Schedule;
using cir::workers::schedule_from;

cir::Params schedule_params(const std::string& kind, const std::string& steps) {
  return cir::Params(R"({"train.schedule":")" + kind + R"(","train.lr_steps":)" + steps +
                     R"(,"train.warmup_epochs":5,"train.warmup_factor":0.01})");
}

TEST(TrainerSchedule, ReferenceWarmsUpLinearlyThenSteps) {
  const Schedule s = schedule_from(schedule_params("reference", "[35, 42]"));
  EXPECT_DOUBLE_EQ(lr_factor(s, 0), 0.01);
  EXPECT_DOUBLE_EQ(lr_factor(s, 1), 0.01 * 0.8 + 0.2);
  EXPECT_DOUBLE_EQ(lr_factor(s, 4), 0.01 * 0.2 + 0.8);
  EXPECT_DOUBLE_EQ(lr_factor(s, 5), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(s, 34), 1.0);
  EXPECT_NEAR(lr_factor(s, 35), 0.1, 1e-15);
  EXPECT_NEAR(lr_factor(s, 41), 0.1, 1e-15);
  EXPECT_NEAR(lr_factor(s, 42), 0.01, 1e-15);
  EXPECT_NEAR(lr_factor(s, 59), 0.01, 1e-15);
}

TEST(TrainerSchedule, PaperStepsWithoutWarmup) {
  const Schedule s = schedule_from(schedule_params("paper", "[45]"));
  EXPECT_DOUBLE_EQ(lr_factor(s, 0), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(s, 44), 1.0);
  EXPECT_NEAR(lr_factor(s, 45), 0.1, 1e-15);
}

TEST(TrainerSchedule, UnknownScheduleNamesTheKey) {
  try {
    schedule_from(schedule_params("cosine", "[1]"));
    FAIL() << "no error";
  } catch (const cir::Error& e) {
    EXPECT_EQ(e.where().key, "train.schedule");
  }
  EXPECT_THROW(schedule_from(schedule_params("paper", "[-1]")), cir::Error);
}

TEST(TrainerState, RoundTripsExactly) {
  cir::workers::TrialState state;
  state.epoch = 3;
  state.step = 7;
  state.sums = {.loss_total = 1.0 / 3.0,
                .loss_info = 2.0 / 7.0,
                .loss_u = std::nextafter(0.1, 1.0),
                .aug_std = 1e-300,
                .steps = 7,
                .samples = 224,
                .train_seconds = 12.5};
  cir::EpochRecord record;
  record.trial_id = "abc";
  record.epoch = 2;
  record.loss_total = 0.1 + 0.2;
  record.recalls = {{.split = "test", .k = 10, .value = 100.0 / 3.0}};
  state.history = {record};
  const auto back =
      cir::workers::trial_state_from_json(nlohmann::json::parse(cir::workers::to_json(state).dump()), "x");
  EXPECT_EQ(back.epoch, 3);
  EXPECT_EQ(back.step, 7);
  EXPECT_EQ(back.sums.loss_total, state.sums.loss_total);
  EXPECT_EQ(back.sums.loss_info, state.sums.loss_info);
  EXPECT_EQ(back.sums.loss_u, state.sums.loss_u);
  EXPECT_EQ(back.sums.aug_std, state.sums.aug_std);
  EXPECT_EQ(back.sums.samples, 224);
  ASSERT_EQ(back.history.size(), 1u);
  EXPECT_EQ(back.history[0].loss_total, record.loss_total);
  ASSERT_EQ(back.history[0].recalls.size(), 1u);
  EXPECT_EQ(back.history[0].recalls[0].value, 100.0 / 3.0);
  EXPECT_THROW(cir::workers::trial_state_from_json(nlohmann::json{{"epoch", 1}}, "ckpt"), cir::Error);
}

TEST(TrainerState, EveryFieldOfTheHistoryRoundTrips) {
  cir::workers::TrialState state;
  state.epoch = 2;
  state.history = {cir::testing::distinct_record<cir::EpochRecord>(0),
                   cir::testing::distinct_record<cir::EpochRecord>(100)};
  cir::testing::expect_every_field_filled(state.history[0]);
  const auto back =
      cir::workers::trial_state_from_json(nlohmann::json::parse(cir::workers::to_json(state).dump()), "x");
  EXPECT_EQ(back.history, state.history);
}

// Checkpoints written before a field was added lack its key, and older ones
// name the trial "trial_id".
TEST(TrainerState, ARecordFromAnOlderCheckpointReadsWithDefaults) {
  cir::workers::TrialState state;
  state.history = {cir::testing::distinct_record<cir::EpochRecord>()};
  nlohmann::json j = cir::workers::to_json(state);
  nlohmann::json& record = j.at("history").at(0);
  record["trial_id"] = record.at("trial");
  record.erase("trial");
  record.erase("lr");
  record.at("recalls").at(1).erase("queries_total");
  const auto back = cir::workers::trial_state_from_json(j, "x");
  ASSERT_EQ(back.history.size(), 1u);
  cir::EpochRecord expected = state.history[0];
  expected.lr = 0.0;
  expected.recalls[1].queries_total = 0;
  EXPECT_EQ(back.history[0], expected);
}

}  // namespace
