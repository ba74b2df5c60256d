// Stores with known numbers for the analysis tests, written through
// store::Writer, and golden-file comparison (CIR_UPDATE_GOLDEN=1 rewrites
// the golden files instead of comparing).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "store/store.hpp"

namespace cir::analysis::testing {

namespace fs = std::filesystem;

class AnalysisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("cir-analysis-" + std::string(info->test_suite_name()) + "-" +
                                        info->name() + "-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

// One trial to write: its parameters, status and epochs.
struct Planned {
  nlohmann::json params;  // resolved keys; the swept ones listed in `swept`
  std::vector<std::string> swept;
  std::int64_t seed = 0;
  TrialStatus status = TrialStatus::done;
  std::vector<EpochRecord> epochs{};  // trial_id is filled in
  std::string error{};
  std::string notes_json{};  // set when not empty
};

inline TrialSpec spec_of(const Planned& p, std::int64_t index) {
  TrialSpec spec;
  spec.index = index;
  spec.seed = p.seed;
  spec.params_json = p.params.dump();
  spec.id = short_digest(spec.params_json + "#seed=" + std::to_string(p.seed));
  spec.swept_keys = p.swept;
  return spec;
}

// Writes the trials (and the run receipts, store::Writer::add_run) to
// <dir>/<sweep>.h5 and returns its path.
inline fs::path write_store(const fs::path& dir, const std::string& sweep, const std::vector<Planned>& trials,
                            const std::vector<std::string>& runs = {}) {
  store::SweepHeader header;
  header.sweep = sweep;
  header.spec_text = "[sweep]\nname = \"" + sweep + "\"\n";
  header.spec_digest = sha256_hex(header.spec_text);
  header.cir_version = "0.1.0-test";
  const fs::path path = dir / (sweep + ".h5");
  store::Writer writer = store::Writer::open(path, header);
  std::vector<TrialSpec> specs;
  for (std::size_t i = 0; i < trials.size(); ++i)
    specs.push_back(spec_of(trials[i], static_cast<std::int64_t>(i)));
  writer.add_trials(specs);
  for (const std::string& run : runs) writer.add_run(run);
  for (std::size_t i = 0; i < trials.size(); ++i) {
    const Planned& p = trials[i];
    if (p.status == TrialStatus::pending) continue;
    writer.set_status(specs[i].id, TrialStatus::running);
    if (!p.notes_json.empty()) writer.set_notes(specs[i].id, p.notes_json);
    for (EpochRecord e : p.epochs) {
      e.trial_id = specs[i].id;
      writer.append_epoch(e);
    }
    if (p.status != TrialStatus::running) writer.set_status(specs[i].id, p.status, p.error);
  }
  writer.flush();
  return path;
}

// An epoch with Recall@K of the given splits ({split, k, value}, …).
inline EpochRecord epoch(int index, double loss, std::vector<RecallValue> recalls) {
  EpochRecord e;
  e.epoch = index;
  e.loss_total = loss;
  e.loss_info = loss * 0.75;
  e.loss_u = loss * 0.5;
  e.train_seconds = 10.0;
  e.eval_seconds = 2.0;
  e.recalls = std::move(recalls);
  return e;
}

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Compares `actual` with tests/analysis/golden/<name>.
inline void expect_golden(const std::string& name, const std::string& actual) {
  const fs::path path = fs::path(CIR_GOLDEN_DIR) / name;
  if (std::getenv("CIR_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(path)) << "no golden file " << path
                                << "; run with CIR_UPDATE_GOLDEN=1 and review it";
  EXPECT_EQ(actual, read_text(path)) << "golden file " << path
                                     << " differs; if the change is intended, rerun with CIR_UPDATE_GOLDEN=1";
}

}  // namespace cir::analysis::testing
