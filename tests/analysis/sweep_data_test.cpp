#include <gtest/gtest.h>

#include "analysis/sweep_data.hpp"
#include "common/error.hpp"
#include "tests/analysis/sweeps.hpp"

namespace cir::analysis::testing {
namespace {

TEST(Selection, ParsesTheThreeRules) {
  EXPECT_EQ(parse_selection("best:r10"), Selection::best_r10);
  EXPECT_EQ(parse_selection("best:avg"), Selection::best_avg);
  EXPECT_EQ(parse_selection("last"), Selection::last);
  for (Selection s : {Selection::best_r10, Selection::best_avg, Selection::last}) {
    EXPECT_EQ(parse_selection(to_string(s)), s);
  }
  try {
    parse_selection("best");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
    EXPECT_NE(std::string(e.what()).find("use best:r10"), std::string::npos);
  }
}

TEST(Selection, EachRulePicksItsEpoch) {
  const std::vector<EpochRecord> epochs = five_epochs({"test"}, 0, 1.0);
  EXPECT_EQ(select_epoch(epochs, Selection::best_r10)->epoch, 1);
  EXPECT_EQ(select_epoch(epochs, Selection::best_avg)->epoch, 2);
  EXPECT_EQ(select_epoch(epochs, Selection::last)->epoch, 3);  // epoch 4 was not evaluated
}

TEST(Selection, TiesGoToTheEarlierEpochAndUnevaluatedTrialsHaveNone) {
  std::vector<EpochRecord> epochs = {epoch(0, 1, recalls({"test"}, 1, 30, 60)),
                                     epoch(1, 1, recalls({"test"}, 2, 30, 61))};
  EXPECT_EQ(select_epoch(epochs, Selection::best_r10)->epoch, 0);
  EXPECT_FALSE(select_epoch({epoch(0, 1, {})}, Selection::best_r10));
  EXPECT_FALSE(select_epoch({}, Selection::last));
}

TEST(Metric, ReadsPaperColumnNames) {
  const Metric r10 = Metric::from_column("r10");
  EXPECT_EQ(r10.kind, Metric::Kind::recall);
  EXPECT_EQ(r10.split, "");
  EXPECT_EQ(r10.k, 10);
  const Metric dress = Metric::from_column("dress_r50");
  EXPECT_EQ(dress.split, "dress");
  EXPECT_EQ(dress.k, 50);
  EXPECT_EQ(Metric::from_column("average_r10").split, "");
  EXPECT_EQ(Metric::from_column("average").kind, Metric::Kind::average_10_50);
  EXPECT_THROW(Metric::from_column("mrr"), Error);
  EXPECT_THROW(Metric::from_column("r0"), Error);
}

TEST(Metric, AveragesOverSplits) {
  EpochRecord e = epoch(0, 1, {{"dress", 10, 20}, {"shirt", 10, 30}, {"dress", 50, 60}, {"shirt", 50, 70}});
  EXPECT_DOUBLE_EQ(*metric_value(e, Metric{.k = 10}), 25.0);
  EXPECT_DOUBLE_EQ(*metric_value(e, Metric{.split = "shirt", .k = 50}), 70.0);
  EXPECT_DOUBLE_EQ(*metric_value(e, Metric{.kind = Metric::Kind::average_10_50}), 45.0);
  EXPECT_FALSE(metric_value(e, Metric{.k = 1}));
  EXPECT_FALSE(metric_value(e, Metric{.split = "toptee", .k = 10}));
}

TEST(Aggregate, MeanAndSampleStandardDeviation) {
  const Stat s = aggregate({50.0, 52.0, 54.0});
  EXPECT_DOUBLE_EQ(s.mean, 52.0);
  EXPECT_DOUBLE_EQ(s.std, 2.0);
  EXPECT_EQ(s.n, 3);
  const Stat one = aggregate({41.5});
  EXPECT_DOUBLE_EQ(one.mean, 41.5);
  EXPECT_DOUBLE_EQ(one.std, 0.0);
  EXPECT_EQ(aggregate({}).n, 0);
}

TEST(TrialParams, ReadsNumbersInfinityAndStrings) {
  TrialSpec spec;
  spec.params_json = R"({"loss.gamma0":"inf","train.lr":0.04,"model.text.encoder":"lstm"})";
  const TrialParams p(spec);
  EXPECT_TRUE(std::isinf(p.number("loss.gamma0", 1.0)));
  EXPECT_DOUBLE_EQ(p.number("train.lr", 0.0), 0.04);
  EXPECT_DOUBLE_EQ(p.number("loss.w1", 1.0), 1.0);
  EXPECT_EQ(p.string("model.text.encoder", ""), "lstm");
  EXPECT_EQ(p.text("train.lr"), "0.04");
  EXPECT_EQ(display_value(p.text("loss.gamma0")), "inf");
  EXPECT_EQ(display_value("1.0"), "1");
  EXPECT_EQ(display_value("3"), "3");
  EXPECT_EQ(display_value("true"), "true");
  spec.params_json = "[1]";
  EXPECT_THROW(TrialParams{spec}, Error);
}

}  // namespace
}  // namespace cir::analysis::testing
