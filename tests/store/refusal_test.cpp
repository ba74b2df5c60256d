// Files a store refuses (exit code 3) with a message that says why, leaving
// them exactly as they were; and --force-new-spec, which keeps the trials
// that are still in the spec.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "common/error.hpp"
#include "store/store.hpp"
#include "store_fixture.hpp"

namespace cir::store::testing {
namespace {

using Refusal = StoreTest;

std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Opens `path` with a reader and a writer; both must refuse with exit code 3
// and a message containing `expected`, and leave the file as it was.
void expect_refused(const fs::path& path, const std::string& expected) {
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

TEST_F(Refusal, AFileThatIsNotHdf5) {
  const fs::path path = dir_ / "notes.h5";
  write_bytes(path, "trial,epoch,r10\n0,0,31.5\n");
  expect_refused(path, "not an HDF5 file");
  write_bytes(path, "");
  expect_refused(path, "empty");
}

TEST_F(Refusal, AnHdf5FileThatCirDidNotWrite) {
  const fs::path path = dir_ / "other.h5";
  {
    const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t dims[1] = {4};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t data = H5Dcreate2(file, "data", H5T_NATIVE_INT, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const int values[4] = {1, 2, 3, 4};
    H5Dwrite(data, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
    H5Dclose(data);
    H5Sclose(space);
    H5Fclose(file);
  }
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
  expect_refused(path, "format version " + std::to_string(kFormatVersion + 1));
}

TEST_F(Refusal, ATruncatedStore) {
  const fs::path path = dir_ / "demo.h5";
  {
    Writer writer = Writer::open(path, header());
    const TrialSpec t = trial(0);
    writer.add_trials({t});
    for (int epoch = 0; epoch < 20; ++epoch) writer.append_epoch(record(t.id, epoch));
  }
  const std::string whole = bytes_of(path);
  write_bytes(path, whole.substr(0, whole.size() / 2));
  expect_refused(path, "truncated or corrupt");
}

TEST_F(Refusal, AStoreWhoseBytesAfterTheSignatureAreGarbage) {
  const fs::path path = dir_ / "demo.h5";
  { Writer writer = Writer::open(path, header()); }
  std::string bytes = bytes_of(path);
  for (std::size_t i = 8; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131) % 251);
  write_bytes(path, bytes);
  expect_refused(path, "truncated or corrupt");
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
