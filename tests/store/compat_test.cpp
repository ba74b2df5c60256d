// A store of format version 1 (rows without their attempt, and a journal
// whose rows lack it too), as an older cir left it, written here by
// write_v1_store.py with Debian's h5py: this cir reads it (every row as
// attempt 0, the journal's frame applied), and a writer goes on with it and
// writes it back as the current version, which h5py then reads with the
// attempt columns.
#include <hdf5.h>

#include <array>
#include <cstdio>

#include "store/store.hpp"
#include "store_fixture.hpp"

namespace cir::store::testing {
namespace {

using Compat = StoreTest;

constexpr const char* kId = "0123456789abcdef";

std::string run(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return "cannot run " + command;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  return pclose(pipe) == 0 ? output : "failed: " + command + "\n" + output;
}

std::int64_t version_of(const fs::path& path) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t attribute = H5Aopen(file, "version", H5P_DEFAULT);
  std::int64_t version = 0;
  H5Aread(attribute, H5T_NATIVE_INT64, &version);
  H5Aclose(attribute);
  H5Fclose(file);
  return version;
}

// Epoch `epoch` as write_v1_store.py writes it: metric i is epoch + i / 8.
void expect_v1_epoch(const EpochRecord& got, int epoch) {
  EXPECT_EQ(got.trial_id, kId);
  EXPECT_EQ(got.epoch, epoch);
  EXPECT_EQ(got.loss_total, epoch + 0.0);
  EXPECT_EQ(got.loss_info, epoch + 0.125);
  EXPECT_EQ(got.samples_per_second, epoch + 1.0);
  ASSERT_EQ(got.recalls.size(), 2u);
  EXPECT_EQ(got.recalls[0], (RecallValue{"test", 10, 100.0 + epoch}));
  EXPECT_EQ(got.recalls[1], (RecallValue{"test", 50, 500.0 + epoch}));
}

TEST_F(Compat, AVersion1StoreIsReadAsAttempt0AndWrittenBackAsTheCurrentVersion) {
  const fs::path path = dir_ / "demo.h5";
  const std::string spec_text = "[sweep]\nname = \"demo\"\n";
  const std::string written = run(std::string("/usr/bin/python3 ") + CIR_STORE_TEST_DIR +
                                  "/write_v1_store.py " + path.string() + " " + kId + " '" + spec_text + "'");
  ASSERT_EQ(written, "");
  ASSERT_EQ(version_of(path), 1);
  {
    const Reader reader = Reader::open(path);
    ASSERT_EQ(reader.trials().size(), 1u);
    EXPECT_EQ(reader.trials()[0].status, TrialStatus::running);
    EXPECT_EQ(reader.trials()[0].retries, 0);
    EXPECT_EQ(reader.trials()[0].epochs_done, 2);
    const auto epochs = reader.epochs(kId);
    ASSERT_EQ(epochs.size(), 2u);  // epoch 0 from the snapshot, 1 from the journal
    expect_v1_epoch(epochs[0], 0);
    expect_v1_epoch(epochs[1], 1);
    EXPECT_EQ(reader.epochs(kId, 0), epochs);
  }
  SweepHeader same = header(spec_text);
  same.spec_digest = Reader::open(path).header().spec_digest;
  {
    Writer writer = Writer::open(path, same);
    writer.add_trials({Reader::open(path).trials()[0].spec});
    EpochRecord last = record(kId, 2);
    writer.append_epoch(last);
    writer.set_status(kId, TrialStatus::done);
  }
  EXPECT_EQ(version_of(path), kFormatVersion);
  const Reader reader = Reader::open(path);
  EXPECT_EQ(reader.trials()[0].status, TrialStatus::done);
  const auto epochs = reader.epochs(kId);
  ASSERT_EQ(epochs.size(), 3u);
  expect_v1_epoch(epochs[0], 0);
  expect_v1_epoch(epochs[1], 1);
  expect_same(epochs[2], record(kId, 2));
  // h5py sees the attempt columns, every row of attempt 0.
  const std::string attempts =
      run("/usr/bin/python3 -c \"import h5py; f = h5py.File('" + path.string() +
          "'); print(list(f['epochs']['attempt']), list(f['recalls']['attempt'][:2]), "
          "list(f['trials']['retries']))\"");
  EXPECT_EQ(attempts, "[0, 0, 0] [0, 0] [0]\n");
}

}  // namespace
}  // namespace cir::store::testing
