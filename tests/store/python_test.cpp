// A store written by cir is usable by the tools researchers already have:
// Debian's python3 with h5py and pandas reads every number cir wrote,
// h5dump prints it, and sha256sum checks it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "store/store.hpp"
#include "store_fixture.hpp"
#include "tests/shell.hpp"

namespace cir::store::testing {
namespace {

using Python = StoreTest;

// COMMAND's exit code and its stdout and stderr.
cir::testing::Shell run(const std::string& command) { return cir::testing::shell(command + " 2>&1"); }

// Three trials over four swept keys of four types, three epochs each (the
// middle one of the last trial not evaluated); one failed trial with notes.
std::vector<TrialSpec> write_store(const fs::path& path) {
  const std::vector<std::string> params = {
      R"({"loss.gamma0":0.5,"model.text":"roberta","train.amp":true,"train.epochs":3})",
      R"({"loss.gamma0":"inf","model.text":"lstm","train.amp":false,"train.epochs":4})",
      R"({"loss.gamma0":10.0,"model.text":"roberta","train.amp":true,"train.epochs":5})",
  };
  std::vector<TrialSpec> specs;
  for (int i = 0; i < 3; ++i) {
    TrialSpec spec = trial(i);
    spec.params_json = params[i];
    spec.id = short_digest(params[i]);
    spec.swept_keys = {"loss.gamma0", "model.text", "train.amp", "train.epochs"};
    specs.push_back(spec);
  }
  Writer writer = Writer::open(path, header("[sweep]\nname = \"demo\"\n"));
  writer.add_trials(specs);
  for (const TrialSpec& spec : specs) {
    writer.set_status(spec.id, TrialStatus::running);
    for (int epoch = 0; epoch < 3; ++epoch) {
      writer.append_epoch(record(spec.id, epoch, !(spec.index == 2 && epoch == 1)));
    }
  }
  writer.set_status(specs[0].id, TrialStatus::done);
  writer.set_status(specs[1].id, TrialStatus::failed, "out of memory: épreuve");
  writer.set_notes(specs[1].id, R"({"slurm_job":"77"})");
  return specs;
}

TEST_F(Python, H5pyAndPandasReadEveryNumber) {
  const fs::path path = dir_ / "demo.h5";
  const std::vector<TrialSpec> specs = write_store(path);
  const cir::testing::Shell python =
      run(std::string("/usr/bin/python3 ") + CIR_STORE_TEST_DIR + "/read_store.py " + path.string());
  ASSERT_EQ(python.code, 0) << python.out;
  const nlohmann::json got = nlohmann::json::parse(python.out);
  const Reader reader = Reader::open(path);

  EXPECT_EQ(got["attrs"]["format"], "cir-results");
  EXPECT_EQ(got["attrs"]["version"], kFormatVersion);
  EXPECT_EQ(got["attrs"]["sweep"], "demo");
  EXPECT_EQ(got["attrs"]["spec_digest"], reader.header().spec_digest);
  EXPECT_EQ(got["attrs"]["created"].get<double>(), reader.header().created);

  const nlohmann::json& trials = got["trials"];
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const TrialRow& row = reader.trials()[i];
    EXPECT_EQ(trials["id"][i], specs[i].id);
    EXPECT_EQ(trials["status"][i], to_string(row.status));
    EXPECT_EQ(trials["seed"][i], specs[i].seed);
    EXPECT_EQ(trials["attempts"][i], 1);
    EXPECT_EQ(trials["params_json"][i], specs[i].params_json);
    EXPECT_EQ(trials["error"][i], row.error);
    EXPECT_EQ(trials["notes_json"][i], row.notes_json);
  }
  EXPECT_EQ(trials["error"][1], "out of memory: épreuve");

  EXPECT_EQ(got["params"]["loss.gamma0"], nlohmann::json::parse(R"([0.5, "inf", 10.0])"));
  EXPECT_EQ(got["param_types"]["loss.gamma0"], "float64");
  EXPECT_EQ(got["params"]["train.epochs"], nlohmann::json::parse("[3, 4, 5]"));
  EXPECT_EQ(got["param_types"]["train.epochs"], "int64");
  EXPECT_EQ(got["params"]["train.amp"], nlohmann::json::parse("[true, false, true]"));
  EXPECT_EQ(got["param_types"]["train.amp"], "bool");
  EXPECT_EQ(got["params"]["model.text"], nlohmann::json::parse(R"(["roberta", "lstm", "roberta"])"));

  const nlohmann::json& epochs = got["epochs"];
  ASSERT_EQ(epochs["trial"].size(), 9u);
  std::size_t recall_row = 0;
  for (std::size_t row = 0; row < 9; ++row) {
    const std::string id = epochs["trial"][row];
    const int epoch = epochs["epoch"][row];
    const EpochRecord want = reader.epochs(id).at(epoch);
    EXPECT_EQ(epochs["loss_total"][row].get<double>(), want.loss_total);
    EXPECT_EQ(epochs["loss_info"][row].get<double>(), want.loss_info);
    EXPECT_EQ(epochs["loss_u"][row].get<double>(), want.loss_u);
    EXPECT_EQ(epochs["gamma"][row].get<double>(), want.gamma);
    EXPECT_EQ(epochs["aug_std"][row].get<double>(), want.aug_std);
    EXPECT_EQ(epochs["lr"][row].get<double>(), want.lr);
    EXPECT_EQ(epochs["train_seconds"][row].get<double>(), want.train_seconds);
    EXPECT_EQ(epochs["eval_seconds"][row].get<double>(), want.eval_seconds);
    EXPECT_EQ(epochs["samples_per_second"][row].get<double>(), want.samples_per_second);
    for (const RecallValue& recall : want.recalls) {
      const nlohmann::json& recalls = got["recalls"];
      EXPECT_EQ(recalls["trial"][recall_row], id);
      EXPECT_EQ(recalls["epoch"][recall_row], epoch);
      EXPECT_EQ(recalls["split"][recall_row], recall.split);
      EXPECT_EQ(recalls["k"][recall_row], recall.k);
      EXPECT_EQ(recalls["value"][recall_row].get<double>(), recall.value);
      EXPECT_EQ(recalls["queries"][recall_row], recall.queries);
      EXPECT_EQ(recalls["queries_total"][recall_row], recall.queries_total);
      EXPECT_EQ(recalls["gallery"][recall_row], recall.gallery);
      EXPECT_EQ(recalls["gallery_total"][recall_row], recall.gallery_total);
      ++recall_row;
    }
  }
  EXPECT_EQ(got["recalls"]["trial"].size(), recall_row);
  for (const TrialSpec& spec : specs) {
    const double best = got["best_r10"][spec.id];
    const std::optional<EpochRecord> selected = reader.select_epoch(spec.id, "r10");
    ASSERT_TRUE(selected.has_value());
    double sum = 0.0;
    int n = 0;
    for (const RecallValue& r : selected->recalls) {
      if (r.k == 10) sum += r.value, ++n;
    }
    EXPECT_DOUBLE_EQ(best, sum / n) << "pandas and select_epoch(\"r10\") disagree for " << spec.id;
  }
}

TEST_F(Python, H5dumpPrintsTheStore) {
  const fs::path path = dir_ / "demo.h5";
  const std::vector<TrialSpec> specs = write_store(path);
  const cir::testing::Shell dump = run("h5dump " + path.string());
  ASSERT_EQ(dump.code, 0) << dump.out;
  for (const std::string& expected :
       {std::string("\"cir-results\""), std::string("DATASET \"epochs\""), std::string("DATASET \"recalls\""),
        std::string("DATASET \"loss.gamma0\""), std::string("\"loss_total\""), specs[1].id,
        std::string("\"failed")}) {
    EXPECT_NE(dump.out.find(expected), std::string::npos) << "h5dump lacks " << expected;
  }
}

// The checksum block is checked with coreutils as docs/store-format.md
// shows: its second line holds the SHA-256 of every byte after that line.
TEST_F(Python, Sha256sumChecksTheStoreAsCirDoes) {
  const fs::path path = dir_ / "demo.h5";
  write_store(path);
  const cir::testing::Shell block = run("head -c 512 " + path.string() + " | tr -d '\\0'");
  ASSERT_EQ(block.code, 0) << block.out;
  EXPECT_EQ(block.out.rfind("cir-results snapshot\nsha256 ", 0), 0u) << block.out;
  EXPECT_NE(block.out.find("\nformat " + std::to_string(kFormatVersion) + "\nbytes " +
                           std::to_string(fs::file_size(path)) + "\n"),
            std::string::npos)
      << block.out;
  const cir::testing::Shell stored = run("head -n 2 " + path.string() + " | tail -n 1 | cut -c 8-");
  const cir::testing::Shell computed = run("tail -c +94 " + path.string() + " | sha256sum | cut -c 1-64");
  EXPECT_EQ(stored.out.size(), 65u) << stored.out;
  EXPECT_EQ(stored.out, computed.out);
}

}  // namespace
}  // namespace cir::store::testing
