// Files a store refuses (exit code 3) with a message that says why, leaving
// them exactly as they were; and --force-new-spec, which keeps the trials
// that are still in the spec.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include "common/error.hpp"
#include "store/checksum.hpp"
#include "store/snapshot.hpp"
#include "store/store.hpp"
#include "store_fixture.hpp"

namespace cir::store::testing {
namespace {

using Refusal = StoreTest;

TEST_F(Refusal, AFileThatIsNotHdf5) {
  const fs::path path = dir_ / "notes.h5";
  write_bytes(path, "trial,epoch,r10\n0,0,31.5\n");
  expect_refused(path, "not an HDF5 file");
  write_bytes(path, "");
  expect_refused(path, "empty");
}

// An HDF5 file with one data set, and `user_block` bytes before it (0 for
// none).
void write_foreign_hdf5(const fs::path& path, hsize_t user_block) {
  const hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
  H5Pset_userblock(fcpl, user_block);
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
  const hsize_t dims[1] = {4};
  const hid_t space = H5Screate_simple(1, dims, nullptr);
  const hid_t data = H5Dcreate2(file, "data", H5T_NATIVE_INT, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const int values[4] = {1, 2, 3, 4};
  H5Dwrite(data, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
  H5Dclose(data);
  H5Sclose(space);
  H5Fclose(file);
  H5Pclose(fcpl);
}

TEST_F(Refusal, AnHdf5FileThatCirDidNotWrite) {
  const fs::path path = dir_ / "other.h5";
  write_foreign_hdf5(path, 0);
  expect_refused(path, "not a cir results store");
  write_foreign_hdf5(path, 512);
  expect_refused(path, "not a cir results store");
}

TEST_F(Refusal, AStoreOfANewerFormatVersion) {
  const fs::path path = dir_ / "demo.h5";
  { Writer writer = Writer::open(path, header()); }
  {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t attribute = H5Aopen(file, "version", H5P_DEFAULT);
    const std::int64_t newer = kFormatVersion + 1;
    H5Awrite(attribute, H5T_NATIVE_INT64, &newer);
    H5Aclose(attribute);
    H5Fclose(file);
  }
  seal_snapshot(path, kFormatVersion + 1);
  expect_refused(path, "format version " + std::to_string(kFormatVersion + 1));
}

// A store with two trials, epochs and recalls (/epochs and /recalls in
// chunks, the trials' texts in HDF5's global heap).
void write_full_store(const fs::path& path) {
  Writer writer = Writer::open(path, header());
  const TrialSpec a = trial(0), b = trial(1);
  writer.add_trials({a, b});
  for (const TrialSpec& t : {a, b}) {
    writer.set_status(t.id, TrialStatus::running);
    for (int epoch = 0; epoch < 20; ++epoch) writer.append_epoch(record(t.id, epoch));
    writer.set_status(t.id, TrialStatus::done);
  }
}

TEST_F(Refusal, ATruncatedStore) {
  const fs::path path = dir_ / "demo.h5";
  write_full_store(path);
  const std::string whole = bytes_of(path);
  for (const std::size_t size : {whole.size() - 1, whole.size() / 2, std::size_t{4096}, kUserBlockSize,
                                 kUserBlockSize - 1, std::size_t{30}}) {
    SCOPED_TRACE("cut to " + std::to_string(size) + " of " + std::to_string(whole.size()) + " bytes");
    write_bytes(path, whole.substr(0, size));
    expect_refused(path, "truncated or corrupt");
  }
  write_bytes(path, whole.substr(0, whole.size() - 1));
  expect_refused(path, "holds " + std::to_string(whole.size() - 1) + " bytes, cir wrote " +
                           std::to_string(whole.size()) + ": it was cut short");
}

// libhdf5 reads a damaged file out of bounds (docs/hostile-inputs.md), so a
// store refuses every changed byte before HDF5 sees the file: in its
// checksum block (the magic, the digest, the format, the padding), in
// HDF5's superblock, in the global heap of its texts, in the chunks of its
// rows and at its end. Then every byte of the block and every 7th byte of
// the file, one at a time.
TEST_F(Refusal, AStoreWithAnyByteChangedIsRefusedBeforeHdf5ReadsIt) {
  const fs::path path = dir_ / "demo.h5";
  write_full_store(path);
  const std::string whole = bytes_of(path);
  const std::size_t heap = whole.find("GCOL");
  ASSERT_NE(heap, std::string::npos) << "no global heap in the store";
  const std::size_t digest = std::string("cir-results snapshot\nsha256 ").size();
  ASSERT_EQ(whole.substr(digest - 7, 7), "sha256 ");
  for (const std::size_t at :
       {std::size_t{0}, digest + 10, whole.find("format "), std::size_t{400}, kUserBlockSize,
        kUserBlockSize + 20, heap, heap + 40, whole.size() / 2, whole.size() - 1}) {
    SCOPED_TRACE("byte " + std::to_string(at) + " of " + std::to_string(whole.size()));
    std::string changed = whole;
    changed[at] = static_cast<char>(changed[at] ^ 0x01);
    write_bytes(path, changed);
    expect_refused(path, "truncated or corrupt");
  }
  // The same bytes as a reader reads them, parsed in memory (read_image).
  std::vector<char> bytes(whole.begin(), whole.end());
  std::size_t tried = 0;
  for (std::size_t at = 0; at < bytes.size(); at += at < kUserBlockSize ? 1 : 7, ++tried) {
    bytes[at] = static_cast<char>(bytes[at] ^ 0x80);
    try {
      read_image(bytes, path.string());
      ADD_FAILURE() << "the store was read with byte " << at << " changed";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ExitCode::store_refused) << "byte " << at << ": " << error.what();
      EXPECT_NE(std::string(error.what()).find("truncated or corrupt"), std::string::npos)
          << "byte " << at << ": " << error.what();
    }
    bytes[at] = static_cast<char>(bytes[at] ^ 0x80);
  }
  RecordProperty("bytes_changed", static_cast<int>(tried));
  write_bytes(path, whole);
  EXPECT_EQ(Reader::open(path).trials().size(), 2u) << "the store itself reads";
}

// Garbage after HDF5's signature: in a store (after its checksum block and
// the signature), and in a file that begins with the signature as stores
// of format 1 and 2 do, which HDF5 reads unverified.
TEST_F(Refusal, AStoreWhoseBytesAfterTheSignatureAreGarbage) {
  const fs::path path = dir_ / "demo.h5";
  { Writer writer = Writer::open(path, header()); }
  const std::string whole = bytes_of(path);
  ASSERT_EQ(whole.substr(kUserBlockSize, 8), "\211HDF\r\n\032\n");
  for (const std::size_t keep : {kUserBlockSize + 8, std::size_t{0}}) {
    std::string bytes = keep > 0 ? whole : "\211HDF\r\n\032\n" + whole.substr(8);
    for (std::size_t i = std::max<std::size_t>(keep, 8); i < bytes.size(); ++i)
      bytes[i] = static_cast<char>((i * 131) % 251);
    write_bytes(path, bytes);
    expect_refused(path, "truncated or corrupt");
  }
}

TEST_F(Refusal, AMissingStoreIsAUsageErrorForReaders) {
  try {
    Reader::open(dir_ / "absent.h5");
    FAIL() << "opened a store that does not exist";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::usage);
    EXPECT_NE(std::string(error.what()).find("absent.h5"), std::string::npos) << error.what();
  }
}

constexpr char kSpecA[] = R"(
[sweep]
name = "gamma0"
seeds = [0]
[train]
epochs = 30
lr = 4e-4
[grid]
"loss.gamma0" = [0.5, 1.0]
)";

constexpr char kSpecB[] = R"(
[sweep]
name = "gamma0"
seeds = [0]
[train]
epochs = 40
lr = 4e-4
[model]
text = "lstm"
[grid]
"loss.gamma0" = [1.0, 2.0]
)";

TEST_F(Refusal, AStoreOfAnotherSpecNamesTheKeysThatDiffer) {
  const fs::path path = dir_ / "gamma0.h5";
  {
    Writer writer = Writer::open(path, header(kSpecA));
    writer.add_trials({trial(0), trial(1)});
  }
  const std::string before = bytes_of(path);
  try {
    Writer::open(path, header(kSpecB));
    FAIL() << "a store of another spec was opened";
  } catch (const Error& error) {
    const std::string text = error.what();
    EXPECT_EQ(error.code(), ExitCode::store_refused);
    EXPECT_NE(text.find("train.epochs: store 30, spec 40"), std::string::npos) << text;
    EXPECT_NE(text.find("grid.\"loss.gamma0\""), std::string::npos) << text;
    EXPECT_NE(text.find("model.text: only in the spec"), std::string::npos) << text;
    EXPECT_EQ(text.find("train.lr"), std::string::npos) << "an equal key is listed: " << text;
    EXPECT_NE(text.find("--force-new-spec"), std::string::npos) << text;
  }
  EXPECT_EQ(bytes_of(path), before);
  EXPECT_EQ(Reader::open(path).header().spec_text, kSpecA);
}

TEST_F(Refusal, ForceNewSpecKeepsTheTrialsStillInTheSpec) {
  const fs::path path = dir_ / "gamma0.h5";
  const TrialSpec kept = trial(1, 1.0), dropped = trial(0, 0.5);
  {
    Writer writer = Writer::open(path, header(kSpecA));
    writer.add_trials({dropped, kept});
    for (const TrialSpec& t : {dropped, kept}) {
      writer.set_status(t.id, TrialStatus::running);
      for (int epoch = 0; epoch < 3; ++epoch) writer.append_epoch(record(t.id, epoch));
      writer.set_status(t.id, TrialStatus::done);
    }
  }
  TrialSpec kept_now = kept, added = trial(1, 2.0);
  kept_now.index = 0;
  {
    Writer writer = Writer::open(path, header(kSpecB), OpenOptions{.force_new_spec = true});
    writer.add_trials({kept_now, added});
  }
  const Reader reader = Reader::open(path);
  EXPECT_EQ(reader.header().spec_text, kSpecB);
  EXPECT_EQ(reader.header().spec_digest, header(kSpecB).spec_digest);
  ASSERT_EQ(reader.trials().size(), 2u);
  EXPECT_EQ(reader.trials()[0].spec.id, kept.id);
  EXPECT_EQ(reader.trials()[0].spec.index, 0);
  EXPECT_EQ(reader.trials()[0].status, TrialStatus::done);
  EXPECT_EQ(reader.epochs(kept.id).size(), 3u);
  EXPECT_EQ(reader.trials()[1].spec.id, added.id);
  EXPECT_EQ(reader.trials()[1].status, TrialStatus::pending);
  EXPECT_THROW(reader.epochs(dropped.id), Error);
  EXPECT_EQ(reader.resume_view().done, std::vector<std::string>{kept.id});
  EXPECT_NO_THROW(Writer::open(path, header(kSpecB))) << "the store now belongs to spec B";
}

TEST_F(Refusal, TheRunsOfEveryStartSurviveRerunsAndANewSpec) {
  const fs::path path = dir_ / "gamma0.h5";
  {
    Writer writer = Writer::open(path, header(kSpecA));
    writer.add_trials({trial(1, 1.0)});
    writer.add_run(R"({"hosts":["node1"],"slurm_job_id":"41"})");
  }
  {
    Writer writer = Writer::open(path, header(kSpecA));
    writer.add_run(R"({"hosts":["node2"],"slurm_job_id":"42"})");
  }
  {
    Writer writer = Writer::open(path, header(kSpecB), OpenOptions{.force_new_spec = true});
    writer.add_trials({trial(1, 1.0)});
  }
  EXPECT_EQ(Reader::open(path).header().runs_json,
            R"([{"hosts":["node1"],"slurm_job_id":"41"},{"hosts":["node2"],"slurm_job_id":"42"}])");
}

TEST_F(Refusal, AForcedOpenChangesNothingUntilTheTrialsAreKnown) {
  const fs::path path = dir_ / "gamma0.h5";
  {
    Writer writer = Writer::open(path, header(kSpecA));
    writer.add_trials({trial(0), trial(1)});
  }
  const std::string before = bytes_of(path);
  { Writer writer = Writer::open(path, header(kSpecB), OpenOptions{.force_new_spec = true}); }
  EXPECT_EQ(bytes_of(path), before) << "the new header was written with the old spec's trials";
}

}  // namespace
}  // namespace cir::store::testing
