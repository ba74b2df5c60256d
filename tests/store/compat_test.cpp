// Stores of format versions 1 and 2 (without the checksum block that
// begins every snapshot since version 3; version 1 also with rows without
// their attempt, and a journal whose rows lack it too), as an older cir
// left them, written here by write_old_store.py with Debian's h5py: this
// cir reads them, unverified (every row of version 1 as attempt 0, the
// journal's frame applied), and a writer goes on with them and writes them
// back as the current version, checksummed, which h5py then reads with the
// attempt columns. Neither has /recalls' query and gallery counts: they read
// as 0 of 0 (unknown), from the snapshot and from the journal's shorter
// recall rows. A current store without its block is refused.
#include <hdf5.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "common/error.hpp"
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

// Epoch `epoch` as write_old_store.py writes it: metric i is epoch + i / 8,
// and the recalls have no counts.
void expect_old_epoch(const EpochRecord& got, int epoch) {
  EXPECT_EQ(got.trial_id, kId);
  EXPECT_EQ(got.epoch, epoch);
  EXPECT_EQ(got.loss_total, epoch + 0.0);
  EXPECT_EQ(got.loss_info, epoch + 0.125);
  EXPECT_EQ(got.samples_per_second, epoch + 1.0);
  ASSERT_EQ(got.recalls.size(), 2u);
  EXPECT_EQ(got.recalls[0], (RecallValue{"test", 10, 100.0 + epoch}));
  EXPECT_EQ(got.recalls[1], (RecallValue{"test", 50, 500.0 + epoch}));
}

constexpr char kSpecText[] = "[sweep]\nname = \"demo\"\n";

// write_old_store.py's store of format `version` at `path`; "" or its error.
std::string write_old_store(int version, const fs::path& path) {
  return run(std::string("/usr/bin/python3 ") + CIR_STORE_TEST_DIR + "/write_old_store.py " +
             std::to_string(version) + " " + path.string() + " " + kId + " '" + kSpecText + "'");
}

std::string first_bytes(const fs::path& path, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes(n, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(n));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return bytes;
}

// Reads the store of format `version` that write_old_store.py wrote at
// `path`, goes on with it as a writer and checks what it wrote back.
void expect_read_and_written_back(const fs::path& path, int version) {
  ASSERT_EQ(version_of(path), version);
  ASSERT_EQ(first_bytes(path, 4), "\211HDF")
      << "a store of format " << version << " begins with HDF5's signature";
  {
    const Reader reader = Reader::open(path);
    ASSERT_EQ(reader.trials().size(), 1u);
    EXPECT_EQ(reader.trials()[0].status, TrialStatus::running);
    EXPECT_EQ(reader.trials()[0].retries, 0);
    EXPECT_EQ(reader.trials()[0].epochs_done, 2);
    const auto epochs = reader.epochs(kId);
    ASSERT_EQ(epochs.size(), 2u);  // epoch 0 from the snapshot, 1 from the journal
    expect_old_epoch(epochs[0], 0);
    expect_old_epoch(epochs[1], 1);
    EXPECT_EQ(reader.epochs(kId, 0), epochs);
  }
  SweepHeader same = header(kSpecText);
  same.spec_digest = Reader::open(path).header().spec_digest;
  const EpochRecord last = record(kId, 2);
  {
    Writer writer = Writer::open(path, same);
    writer.add_trials({Reader::open(path).trials()[0].spec});
    writer.append_epoch(last);
    writer.set_status(kId, TrialStatus::done);
  }
  EXPECT_EQ(version_of(path), kFormatVersion);
  EXPECT_EQ(first_bytes(path, 21), "cir-results snapshot\n") << "written back without its checksum block";
  const Reader reader = Reader::open(path);
  EXPECT_EQ(reader.trials()[0].status, TrialStatus::done);
  const auto epochs = reader.epochs(kId);
  ASSERT_EQ(epochs.size(), 3u);
  expect_old_epoch(epochs[0], 0);
  expect_old_epoch(epochs[1], 1);
  expect_same(epochs[2], last);
  // h5py reads the file past its checksum block and sees the attempt
  // columns, every row of attempt 0, and the count columns, 0 in the rows
  // written before them.
  const std::string attempts =
      run("/usr/bin/python3 -c \"import h5py; f = h5py.File('" + path.string() +
          "'); print(list(f['epochs']['attempt']), list(f['recalls']['attempt'][:2]), "
          "list(f['trials']['retries']), f.attrs['version'], list(f['recalls']['queries_total']))\"");
  std::string totals = "[0, 0, 0, 0";
  for (const RecallValue& r : last.recalls) totals += ", " + std::to_string(r.queries_total);
  EXPECT_EQ(attempts, "[0, 0, 0] [0, 0] [0] " + std::to_string(kFormatVersion) + " " + totals + "]\n");
}

TEST_F(Compat, AVersion1StoreIsReadAsAttempt0AndWrittenBackAsTheCurrentVersion) {
  const fs::path path = dir_ / "demo.h5";
  ASSERT_EQ(write_old_store(1, path), "");
  expect_read_and_written_back(path, 1);
}

TEST_F(Compat, AVersion2StoreIsReadUnverifiedAndWrittenBackWithItsChecksum) {
  const fs::path path = dir_ / "demo.h5";
  ASSERT_EQ(write_old_store(2, path), "");
  expect_read_and_written_back(path, 2);
}

// A store of the current format is checked before it is read; one without
// its checksum block (another program rewrote it, or its first bytes were
// replaced) is not read unverified as an older one.
TEST_F(Compat, ACurrentStoreWithoutItsChecksumBlockIsRefused) {
  const fs::path path = dir_ / "demo.h5";
  ASSERT_EQ(write_old_store(kFormatVersion, path), "");
  for (const bool writer : {false, true}) {
    try {
      if (writer) {
        Writer::open(path, header(kSpecText));
      } else {
        Reader::open(path);
      }
      ADD_FAILURE() << (writer ? "the writer" : "the reader") << " opened a store without its checksum";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ExitCode::store_refused) << error.what();
      EXPECT_NE(std::string(error.what())
                    .find("has format version " + std::to_string(kFormatVersion) + " but no checksum block"),
                std::string::npos)
          << error.what();
      EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
    }
  }
}

}  // namespace
}  // namespace cir::store::testing
