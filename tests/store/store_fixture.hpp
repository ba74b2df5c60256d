// Shared pieces of the store tests: a fresh folder per test and small
// trials, headers and epoch records with distinct values in every field.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "store/store.hpp"

namespace cir::store::testing {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("cir-store-" + std::string(info->test_suite_name()) + "-" +
                                        info->name() + "-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

inline SweepHeader header(const std::string& spec_text = "[sweep]\nname = \"demo\"\n") {
  SweepHeader h;
  h.sweep = "demo";
  h.spec_text = spec_text;
  h.spec_digest = sha256_hex(spec_text);
  h.cir_version = "0.1.0-test";
  return h;
}

// Trial `i` of a one-axis sweep over loss.gamma0.
inline TrialSpec trial(int i, double gamma0 = 0.0) {
  TrialSpec spec;
  spec.index = i;
  spec.seed = 100 + i;
  const double g = gamma0 != 0.0 ? gamma0 : 0.5 * (i + 1);
  spec.params_json = "{\"loss.gamma0\":" + std::to_string(g) + ",\"train.epochs\":3}";
  spec.id = short_digest(spec.params_json + "#seed=" + std::to_string(spec.seed));
  spec.swept_keys = {"loss.gamma0"};
  spec.expected_cost = 1.0 + i;
  return spec;
}

// A record whose every field is different and tied to (trial, epoch).
inline EpochRecord record(const std::string& id, int epoch, bool with_recalls = true) {
  EpochRecord r;
  r.trial_id = id;
  r.epoch = epoch;
  const double base = epoch + 0.1 * static_cast<double>(id[0] % 7);
  r.loss_total = 3.25 - base / 7.0;
  r.loss_info = 2.125 - base / 9.0;
  r.loss_u = 0.5 + base / 13.0;
  r.gamma = 1.0 / (1.0 + base);
  r.aug_std = 0.01 * (base + 1.0);
  r.lr = 4e-4 / (1.0 + base);
  r.train_seconds = 12.5 + base;
  r.eval_seconds = 1.75 + base;
  r.samples_per_second = 1000.0 + 3.0 * base;
  if (with_recalls) {
    for (const char* split : {"dress", "shirt", "toptee"}) {
      for (int k : {10, 50}) {
        const std::int64_t queries = 2000 + split[0] + epoch;
        r.recalls.push_back({.split = split,
                             .k = k,
                             .value = (k == 10 ? 20.0 : 45.0) + base + split[0] % 5,
                             .queries = queries,
                             .queries_total = queries + 17,
                             .gallery = 2 * queries,
                             .gallery_total = 2 * queries + 5});
      }
    }
  }
  return r;
}

inline void expect_same(const EpochRecord& a, const EpochRecord& b) {
  EXPECT_EQ(a.trial_id, b.trial_id);
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.loss_total, b.loss_total);
  EXPECT_EQ(a.loss_info, b.loss_info);
  EXPECT_EQ(a.loss_u, b.loss_u);
  EXPECT_EQ(a.gamma, b.gamma);
  EXPECT_EQ(a.aug_std, b.aug_std);
  EXPECT_EQ(a.lr, b.lr);
  EXPECT_EQ(a.train_seconds, b.train_seconds);
  EXPECT_EQ(a.eval_seconds, b.eval_seconds);
  EXPECT_EQ(a.samples_per_second, b.samples_per_second);
  ASSERT_EQ(a.recalls.size(), b.recalls.size());
  for (std::size_t i = 0; i < a.recalls.size(); ++i) EXPECT_EQ(a.recalls[i], b.recalls[i]);
}

inline std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Opens `path` with a reader and a writer; both must refuse with exit code 3
// and a message containing `expected`, and leave the file as it was.
inline void expect_refused(const fs::path& path, const std::string& expected) {
  const std::string before = bytes_of(path);
  const auto mtime = fs::last_write_time(path);
  for (const bool writer : {false, true}) {
    try {
      if (writer) {
        Writer::open(path, header());
      } else {
        Reader::open(path);
      }
      ADD_FAILURE() << (writer ? "the writer" : "the reader") << " opened " << path;
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ExitCode::store_refused) << error.what();
      EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
    }
  }
  EXPECT_EQ(bytes_of(path), before);
  EXPECT_EQ(fs::last_write_time(path), mtime);
}

}  // namespace cir::store::testing
