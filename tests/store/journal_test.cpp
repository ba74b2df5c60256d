// A commit writes what changed, not the store (docs/store-format.md
// "Commits"): it appends a frame to <store>.journal and leaves the snapshot
// alone; readers see the snapshot plus the journal; a frame cut short is not
// part of the store; a writer that closes folds the journal into the
// snapshot, so h5py sees every row.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "common/error.hpp"
#include "store/store.hpp"
#include "store_fixture.hpp"

namespace cir::store::testing {
namespace {

using Journal = StoreTest;

struct FileId {
  ino_t inode = 0;
  off_t size = 0;
  bool operator==(const FileId&) const = default;
};

FileId file_id(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
  return {info.st_ino, info.st_size};
}

// A writer holding 40 trials with 10 epochs each, committed as a snapshot.
Writer big_store(const fs::path& path, std::vector<TrialSpec>& specs) {
  Writer writer = Writer::open(path, header());
  for (int i = 0; i < 40; ++i) specs.push_back(trial(i));
  writer.add_trials(specs);
  for (int epoch = 0; epoch < 10; ++epoch)
    for (const TrialSpec& spec : specs) writer.append_epoch(record(spec.id, epoch));
  writer.flush();
  return writer;
}

TEST_F(Journal, ACommitAppendsItsRowsAndLeavesTheSnapshotAlone) {
  const fs::path path = dir_ / "j.h5", journal = dir_ / "j.h5.journal";
  std::vector<TrialSpec> specs;
  Writer writer = big_store(path, specs);
  // The first commit after the snapshot; only from then on is it known
  // that no full write is due.
  writer.append_epoch(record(specs[0].id, 10));
  writer.flush();
  const FileId snapshot = file_id(path);
  const auto journal_before = file_id(journal).size;
  writer.set_status(specs[1].id, TrialStatus::running);
  writer.append_epoch(record(specs[1].id, 10));
  writer.flush();
  EXPECT_EQ(file_id(path), snapshot) << "the commit rewrote the snapshot";
  const auto grown = file_id(journal).size - journal_before;
  EXPECT_GT(grown, 0);
  EXPECT_LT(grown, 4096) << "a commit of one epoch row wrote " << grown << " bytes";

  const Reader reader = Reader::open(path);
  ASSERT_EQ(reader.epochs(specs[1].id).size(), 11u);
  expect_same(reader.epochs(specs[1].id).back(), record(specs[1].id, 10));
  EXPECT_EQ(reader.trials()[1].status, TrialStatus::running);
  EXPECT_EQ(reader.trials()[1].attempts, 1);
  EXPECT_EQ(reader.trials()[1].epochs_done, 11);
}

TEST_F(Journal, AnIdleWriterFoldsItsJournalIntoTheSnapshotOnceTheSnapshotIsStale) {
  const fs::path path = dir_ / "j.h5", journal = dir_ / "j.h5.journal";
  std::vector<TrialSpec> specs;
  Writer writer = big_store(path, specs);
  const auto empty_journal = file_id(journal).size;
  writer.append_epoch(record(specs[0].id, 10));
  writer.flush();
  writer.append_epoch(record(specs[0].id, 11));
  writer.flush();
  ASSERT_GT(file_id(journal).size, empty_journal) << "the commits wrote no journal frame";
  const FileId snapshot = file_id(path);
  // Nothing new arrives (ranks held in a long step); the coordinator keeps
  // calling commit() while idle. Within the staleness bound (at least two
  // seconds) the journal's rows reach the snapshot that HDF5 tools read.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (file_id(journal).size != empty_journal && std::chrono::steady_clock::now() < deadline) {
    writer.commit();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(file_id(journal).size, empty_journal) << "an idle writer never folded its journal";
  EXPECT_NE(file_id(path), snapshot);
  EXPECT_FALSE(writer.commit()) << "a folded, unchanged store was written again";
  const std::vector<EpochRecord> epochs = Reader::open(path).epochs(specs[0].id);
  ASSERT_EQ(epochs.size(), 12u);
  expect_same(epochs.back(), record(specs[0].id, 11));
}

TEST_F(Journal, AJournalTheSnapshotAlreadyHoldsIsNotAppliedAgain) {
  const fs::path path = dir_ / "j.h5", journal = dir_ / "j.h5.journal";
  std::vector<TrialSpec> specs;
  {
    Writer writer = big_store(path, specs);
    for (int epoch = 10; epoch < 13; ++epoch) {
      writer.append_epoch(record(specs[0].id, epoch));
      writer.flush();
    }
    fs::copy_file(journal, dir_ / "kept");
  }
  // A kill after the closing writer's snapshot was renamed into place but
  // before the journal was replaced leaves the old journal beside it.
  fs::copy_file(dir_ / "kept", journal, fs::copy_options::overwrite_existing);
  const Reader reader = Reader::open(path);
  const std::vector<EpochRecord> epochs = reader.epochs(specs[0].id);
  ASSERT_EQ(epochs.size(), 13u);
  for (int epoch = 0; epoch < 13; ++epoch) expect_same(epochs[epoch], record(specs[0].id, epoch));
}

TEST_F(Journal, ReadersSeeTheCommitsOfAKilledWriterUpToTheFrameCutShort) {
  const fs::path path = dir_ / "j.h5", journal = dir_ / "j.h5.journal";
  std::vector<TrialSpec> specs;
  fs::path snapshot_copy = dir_ / "snapshot", journal_copy = dir_ / "journal";
  {
    Writer writer = big_store(path, specs);
    writer.append_epoch(record(specs[0].id, 10));
    writer.flush();  // the snapshot of the generation the journal extends
    for (int epoch = 11; epoch < 14; ++epoch) {
      writer.append_epoch(record(specs[0].id, epoch));
      writer.flush();
    }
    // What a SIGKILL now would leave on disk.
    fs::copy_file(path, snapshot_copy);
    fs::copy_file(journal, journal_copy);
  }
  fs::copy_file(snapshot_copy, path, fs::copy_options::overwrite_existing);
  fs::copy_file(journal_copy, journal, fs::copy_options::overwrite_existing);
  {
    const Reader reader = Reader::open(path);
    EXPECT_EQ(reader.epochs(specs[0].id).size(), 14u);
  }
  // A kill inside the last append leaves part of its frame.
  fs::resize_file(journal, fs::file_size(journal) - 7);
  {
    const Reader reader = Reader::open(path);
    ASSERT_EQ(reader.epochs(specs[0].id).size(), 13u);
    EXPECT_EQ(reader.trials()[0].epochs_done, 13);
  }
  // The next writer carries on from there, and what it commits is read back.
  {
    Writer writer = Writer::open(path, header());
    ASSERT_EQ(writer.trials()[0].epochs_done, 13);
    writer.append_epoch(record(specs[0].id, 13));
    writer.flush();
    writer.append_epoch(record(specs[0].id, 14));
    writer.flush();
    const Reader reader = Reader::open(path);
    ASSERT_EQ(reader.epochs(specs[0].id).size(), 15u);
    for (int epoch = 0; epoch < 15; ++epoch)
      expect_same(reader.epochs(specs[0].id)[epoch], record(specs[0].id, epoch));
  }
  // Closed, the store is one snapshot again: the journal holds no frame.
  const auto closed = fs::file_size(journal);
  EXPECT_LT(closed, 64u) << "the closed writer left frames in the journal";
  EXPECT_EQ(Reader::open(path).epochs(specs[0].id).size(), 15u);
}

// Sets byte `at` of the journal of a store closed by big_store.
void set_journal_byte(const fs::path& journal, std::size_t at, char value) {
  std::string bytes = bytes_of(journal);
  ASSERT_GE(bytes.size(), 32u);
  bytes[at] = value;
  write_bytes(journal, bytes);
}

TEST_F(Journal, AJournalFromAnotherLayoutIsRefusedNamingIt) {
  const fs::path path = dir_ / "j.h5", journal = dir_ / "j.h5.journal";
  std::vector<TrialSpec> specs;
  { Writer writer = big_store(path, specs); }
  set_journal_byte(journal, 12, 9);  // the journal format version
  expect_refused(path, "j.h5.journal");
}

// Found by tests/fuzz/store_fuzz.cpp: every reader (cir-report, a rerun)
// reread the store forever, waiting for a snapshot of the journal's later
// generation that never comes.
TEST_F(Journal, AJournalOfALaterGenerationThanTheSnapshotIsRefusedNotWaitedFor) {
  const fs::path path = dir_ / "j.h5", journal = dir_ / "j.h5.journal";
  std::vector<TrialSpec> specs;
  { Writer writer = big_store(path, specs); }
  set_journal_byte(journal, 16 + 6, 1);  // the generation, little-endian: 2^48 more
  expect_refused(path, "j.h5.journal: the journal extends a later snapshot than the store holds");
}

}  // namespace
}  // namespace cir::store::testing
