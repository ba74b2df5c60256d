// A store on a full disk, and a lock file that cannot be created: neither is
// the store refusing its spec (exit 3). A commit on a full disk, whether it
// appends a journal frame or writes a full snapshot, is an I/O fault (exit
// 74) that names the file and its free space, prints nothing (no HDF5 error
// stack on any thread) and leaves the last commit; the writer does not try
// again when it goes, and once space is freed a new writer goes on from the
// last commit. The full disk is a small tmpfs (skipped where mount(2) is
// not permitted).
#include <gtest/gtest.h>

#include <cerrno>
#include <functional>
#include <optional>
#include <thread>

#include "common/error.hpp"
#include "store/store.hpp"
#include "store_fixture.hpp"
#include "tests/common/tmpfs.hpp"

namespace cir::store::testing {
namespace {

using IoFault = StoreTest;

// Opens a store on `disk` with epoch 0 of trial `a` committed, fills the
// disk, makes `change` and commits it on another thread, as the
// coordinator does (HDF5 keeps its error printing per thread). Returns the
// commit's error, and what was printed on stderr meanwhile in `printed`.
std::optional<Error> commit_on_full_disk(const cir::testing::Tmpfs& disk, const fs::path& path,
                                         const TrialSpec& a, const std::function<void(Writer&)>& change,
                                         std::string& printed) {
  std::optional<Error> error;
  ::testing::internal::CaptureStderr();
  {
    Writer writer = Writer::open(path, header());
    writer.add_trials({a});
    writer.set_status(a.id, TrialStatus::running);
    writer.append_epoch(record(a.id, 0));
    writer.flush();
    disk.fill();
    change(writer);
    std::thread([&] {
      try {
        writer.flush();
      } catch (const Error& e) {
        error.emplace(e);
      }
    }).join();
  }
  printed = ::testing::internal::GetCapturedStderr();
  return error;
}

// What a failed commit must leave: an I/O fault naming `file` and the free
// space, nothing printed, the last commit for a reader; after the space is
// freed, a writer that commits the next epoch.
void expect_fault_keeps_last_commit(const std::optional<Error>& error, const std::string& printed,
                                    const std::string& file, const cir::testing::Tmpfs& disk,
                                    const fs::path& path, const TrialSpec& a) {
  ASSERT_TRUE(error.has_value()) << "a commit on a full disk succeeded";
  EXPECT_EQ(error->code(), ExitCode::io_fault) << error->what();
  EXPECT_EQ(error->sys_errno(), ENOSPC) << error->what();
  const std::string text = error->what();
  EXPECT_EQ(text.rfind(file + ": cannot ", 0), 0u) << text;
  EXPECT_NE(text.find(": No space left on device ("), std::string::npos) << text;
  EXPECT_NE(text.find(" free on its file system)"), std::string::npos) << text;
  EXPECT_EQ(printed, "") << "printed besides the error";
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  disk.unfill();
  {
    const Reader reader = Reader::open(path);
    ASSERT_EQ(reader.epochs(a.id).size(), 1u);
    expect_same(reader.epochs(a.id).at(0), record(a.id, 0));
    EXPECT_EQ(reader.trials().at(0).status, TrialStatus::running);
  }
  {
    Writer writer = Writer::open(path, header());
    writer.add_trials({a});
    writer.append_epoch(record(a.id, 1));
    writer.flush();
  }
  const Reader reader = Reader::open(path);
  ASSERT_EQ(reader.epochs(a.id).size(), 2u);
  expect_same(reader.epochs(a.id).at(1), record(a.id, 1));
}

TEST_F(IoFault, AJournalFrameOnAFullDiskIsAnIoFaultThatKeepsTheLastCommit) {
  const cir::testing::Tmpfs disk(dir_ / "disk", "1m");
  if (!disk.mounted()) GTEST_SKIP() << disk.why();
  const fs::path path = disk.path() / "demo.h5";
  const TrialSpec a = trial(0);
  std::string printed;
  // New epochs after a full snapshot are appended as a frame; enough of
  // them that the frame does not fit in the journal's last page, which the
  // file system had already allocated.
  const auto error = commit_on_full_disk(
      disk, path, a,
      [&](Writer& writer) {
        for (int epoch = 1; epoch <= 40; ++epoch) writer.append_epoch(record(a.id, epoch));
      },
      printed);
  expect_fault_keeps_last_commit(error, printed, path.string() + ".journal", disk, path, a);
}

TEST_F(IoFault, ASnapshotOnAFullDiskIsAnIoFaultThatKeepsTheLastCommit) {
  const cir::testing::Tmpfs disk(dir_ / "disk", "1m");
  if (!disk.mounted()) GTEST_SKIP() << disk.why();
  const fs::path path = disk.path() / "demo.h5";
  const TrialSpec a = trial(0);
  std::string printed;
  // A header change is written as a full snapshot.
  const auto error = commit_on_full_disk(
      disk, path, a, [](Writer& writer) { writer.add_run(R"({"host": "a"})"); }, printed);
  expect_fault_keeps_last_commit(error, printed, path.string(), disk, path, a);
}

TEST_F(IoFault, ALockFileThatCannotBeCreatedIsNotTheStoreRefusing) {
  // /proc takes no new files, not even from root.
  try {
    Writer::open("/proc/cir-demo.h5", header());
    FAIL() << "a store was opened in /proc";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::usage) << error.what();
    EXPECT_NE(std::string(error.what()).find("/proc/cir-demo.h5.lock: cannot create the store's lock file"),
              std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace cir::store::testing
