// cir-report's exports read back by the readers other tools use
// (tests/analysis/read_exports.py: protobuf for the TensorBoard events,
// pandas for the long CSV, json for --status --format json).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/analysis/sweeps.hpp"
#include "tests/shell.hpp"

namespace cir::analysis::testing {
namespace {

using cir::testing::shell;
using Result = cir::testing::Shell;

Result cir_report(const std::string& args) { return shell(std::string(CIR_REPORT) + " " + args + " 2>&1"); }

// The reader's JSON; skips the test when Python or its library is missing.
nlohmann::json read_back(const std::string& kind, const fs::path& path) {
  const Result r = shell("/usr/bin/python3 " + std::string(CIR_ANALYSIS_TESTS) + "/read_exports.py " + kind +
                         " " + path.string() + " 2>&1");
  if (r.code != 0) return nullptr;
  return nlohmann::json::parse(r.out.substr(r.out.find('{')));
}

class Exports : public AnalysisTest {};

TEST_F(Exports, TensorBoardEventsReadBackByProtobuf) {
  const fs::path store = write_store(dir_, "gamma0", gamma0_sweep());
  const fs::path logs = dir_ / "tb";
  const Result run = cir_report(store.string() + " --export tensorboard " + logs.string());
  ASSERT_EQ(run.code, 0) << run.out;
  EXPECT_NE(run.out.find("wrote 13 TensorBoard event files"), std::string::npos) << run.out;
  const nlohmann::json tb = read_back("tensorboard", logs);
  if (tb.is_null()) GTEST_SKIP() << "python3-protobuf is not installed (scripts/install-deps.sh installs it)";
  // 12 trials (all have epochs) and the experiment; each file starts with its version.
  EXPECT_EQ(tb["files"], 13);
  ASSERT_EQ(tb["runs"].size(), 12u);
  EXPECT_EQ(tb["root_first"], "brain.Event:2");
  const Planned first = gamma0_sweep()[0];  // γ0 = 0.25, seed 0, done
  const std::string id = spec_of(first, 0).id;
  const nlohmann::json& trial = tb["runs"][id];
  EXPECT_EQ(trial["first"], "brain.Event:2");
  EXPECT_EQ(trial["hparams"]["loss.gamma0"], 0.25);
  EXPECT_EQ(trial["hparams"]["seed"], 0.0);
  EXPECT_EQ(trial["status"], 1);  // success
  // five_epochs: R@10 at epoch 1 is 50 + bonus(0.25) = 50.75; the loss of epoch 0 is 3.0.
  EXPECT_FLOAT_EQ(trial["scalars"]["recall/test/R@10@1"].get<float>(), 50.75f);
  EXPECT_FLOAT_EQ(trial["scalars"]["loss_total@0"].get<float>(), 3.0f);
  EXPECT_EQ(trial["scalars"].size(),
            5u * 9u + 4u * 3u);  // 9 epoch numbers × 5 epochs, 3 recalls × 4 evaluated
  // The failed and the running trial.
  std::set<int> statuses;
  for (const auto& [run_id, info] : tb["runs"].items()) statuses.insert(info["status"].get<int>());
  EXPECT_EQ(statuses, (std::set<int>{1, 2, 3}));
  // The experiment: the hparams and metrics, and the table's verdicts.
  const nlohmann::json& e = tb["experiment"];
  EXPECT_EQ(e["hparams"]["loss.gamma0"], 3);  // FLOAT64 (∞ is a string on its own trials)
  EXPECT_NE(std::find(e["metrics"].begin(), e["metrics"].end(), "recall/test/R@10"), e["metrics"].end());
  const std::string description = e["description"];
  EXPECT_NE(description.find("\npaper below: 1 R@50\n"), std::string::npos) << e;
  EXPECT_NE(description.find("\nhigher than the baseline: 1 R@10\n"), std::string::npos) << e;
  EXPECT_NE(description.find("paper reproduced: 0.5 R@10, 0.5 R@50"), std::string::npos) << e;
}

TEST_F(Exports, LongCsvReadBackByPandas) {
  const fs::path store = write_store(dir_, "gamma0", gamma0_sweep());
  const fs::path csv = dir_ / "long.csv";
  const Result run = cir_report(store.string() + " --export csv-long " + csv.string());
  ASSERT_EQ(run.code, 0) << run.out;
  const nlohmann::json df = read_back("csv-long", csv);
  if (df.is_null()) GTEST_SKIP() << "python3-pandas is not installed (scripts/install-deps.sh installs it)";
  // 10 trials × 5 epochs + 2 × 2 epochs = 54 epochs × 9 numbers, and 3 recalls on each evaluated epoch.
  const int evaluated = 10 * 4 + 2 * 2;
  EXPECT_EQ(df["rows"], 54 * 9 + evaluated * 3);
  EXPECT_EQ(df["unique_keys"], df["rows"]) << "one row per trial × epoch × metric";
  EXPECT_EQ(df["trials"], 12);
  EXPECT_EQ(df["columns"], (nlohmann::json{"trial", "seed", "status", "loss.gamma0", "epoch", "metric",
                                           "split", "k", "value", "reported"}));
  const std::string id = spec_of(gamma0_sweep()[0], 0).id;
  EXPECT_DOUBLE_EQ(df["r10_by_trial_epoch"][id + "@1"].get<double>(), 50.75);
  EXPECT_EQ(df["reported_epochs"][id], 1);       // the best R@10 epoch
  EXPECT_EQ(df["reported_epochs"].size(), 10u);  // finished trials only
  EXPECT_NE(std::find(df["metrics"].begin(), df["metrics"].end(), "loss_total"), df["metrics"].end());
}

TEST_F(Exports, StatusAsJson) {
  const fs::path store = write_store(dir_, "gamma0", gamma0_sweep());
  const Result run = cir_report("--status --format json " + store.string());
  ASSERT_EQ(run.code, 0) << run.out;
  const fs::path file = dir_ / "status.json";
  std::ofstream(file) << run.out;
  const nlohmann::json s = read_back("json", file);
  if (s.is_null()) GTEST_SKIP() << "python3 is not installed";
  EXPECT_EQ(s["trials"], 12);
  EXPECT_EQ(s["counts"]["done"], 10);
  EXPECT_EQ(s["counts"]["failed"], 1);
  EXPECT_EQ(s["in_progress"], true);
  EXPECT_EQ(s["trial_list"].size(), 12u);
  EXPECT_EQ(s["trial_list"][5]["error"], "loss is nan at step 12");
  EXPECT_EQ(s["trial_list"][0]["point"]["loss.gamma0"], 0.25);
  EXPECT_EQ(cir_report("--status --format latex " + store.string()).code, 2);
  EXPECT_EQ(cir_report("--format json " + store.string()).code, 2);
}

TEST_F(Exports, AnUnknownExportIsAUsageError) {
  const fs::path store = write_store(dir_, "gamma0", gamma0_sweep());
  const Result run = cir_report(store.string() + " --export parquet " + (dir_ / "x").string());
  EXPECT_EQ(run.code, 2) << run.out;
  EXPECT_NE(run.out.find("csv-long"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace cir::analysis::testing
