// A writer killed with SIGKILL at any instant leaves a complete store that
// holds exactly the commits made before the kill: a child process commits
// one epoch at a time in a loop, the parent kills it at random moments, 200
// times, and opens the store after every kill (its checksum checked).
// Readers meanwhile always open a complete store. A kill placed between
// HDF5 closing a new snapshot and its rename leaves the old one.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <random>
#include <string_view>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "store/store.hpp"
#include "store_fixture.hpp"

namespace cir::store::testing {
namespace {

using Crash = StoreTest;

// The child: reopens the store (cleaning what the last kill left), then
// commits epoch after epoch until it is killed.
[[noreturn]] void commit_forever(const fs::path& path, const TrialSpec& spec) {
  try {
    Writer writer = Writer::open(path, header());
    writer.add_trials({spec});
    for (std::int32_t epoch = writer.trials()[0].epochs_done;; ++epoch) {
      writer.append_epoch(record(spec.id, epoch));
      writer.set_notes(spec.id, "{\"epoch\":" + std::to_string(epoch) + "}");
      writer.flush();
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "child: %s\n", error.what());
    _exit(1);
  }
}

TEST_F(Crash, EveryKillLeavesAPrefixOfTheCommits) {
  const fs::path path = dir_ / "crash.h5";
  const TrialSpec spec = trial(0);
  std::mt19937 random(20261130);
  std::uniform_int_distribution<int> delay_us(0, 80000);
  std::int32_t committed = 0;
  int with_leftover_tmp = 0;
  for (int round = 0; round < 200; ++round) {
    const pid_t child = fork();
    ASSERT_GE(child, 0) << "fork failed";
    if (child == 0) commit_forever(path, spec);
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(random)));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "round " << round << ": the child stopped by itself (exit "
                                     << WEXITSTATUS(status) << "), see its message above";
    if (fs::exists(path.string() + ".tmp")) ++with_leftover_tmp;
    if (!fs::exists(path)) {
      ASSERT_EQ(committed, 0) << "round " << round << ": the store vanished";
      continue;
    }
    const Reader reader = Reader::open(path);
    if (reader.trials().empty()) {  // killed between creating the store and adding the trial
      ASSERT_EQ(committed, 0) << "round " << round << ": the trial vanished";
      continue;
    }
    ASSERT_EQ(reader.trials().size(), 1u) << "round " << round;
    const std::vector<EpochRecord> epochs = reader.epochs(spec.id);
    const auto n = static_cast<std::int32_t>(epochs.size());
    ASSERT_GE(n, committed) << "round " << round << ": committed epochs were lost";
    ASSERT_EQ(reader.trials()[0].epochs_done, n) << "round " << round;
    for (std::int32_t epoch = 0; epoch < n; ++epoch) {
      ASSERT_NO_FATAL_FAILURE(expect_same(epochs[epoch], record(spec.id, epoch)))
          << "round " << round << ", epoch " << epoch;
    }
    if (n > 0) {
      EXPECT_EQ(reader.trials()[0].notes_json, "{\"epoch\":" + std::to_string(n - 1) + "}");
    }
    committed = n;
  }
  EXPECT_GT(committed, 20) << "the child hardly ever committed: the test did not test much";
  RecordProperty("committed_epochs", committed);
  RecordProperty("kills_with_leftover_tmp", with_leftover_tmp);
}

TEST_F(Crash, ReadersOpenTheStoreWhileAWriterCommits) {
  const fs::path path = dir_ / "live.h5";
  const TrialSpec spec = trial(0);
  {
    Writer writer = Writer::open(path, header());
    writer.add_trials({spec});
  }
  const pid_t child = fork();
  ASSERT_GE(child, 0) << "fork failed";
  if (child == 0) commit_forever(path, spec);
  std::int32_t seen = 0;
  for (int read = 0; read < 100; ++read) {
    const Reader reader = Reader::open(path);
    const std::vector<EpochRecord> epochs = reader.epochs(spec.id);
    const auto n = static_cast<std::int32_t>(epochs.size());
    EXPECT_GE(n, seen) << "read " << read << " went back in time";
    EXPECT_EQ(reader.trials()[0].epochs_done, n);
    if (n > 0) expect_same(epochs.back(), record(spec.id, n - 1));
    seen = n;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself, see its message above";
  EXPECT_GT(seen, 0) << "the readers never saw a commit";
}

// A writer killed after HDF5 has closed its new snapshot (<store>.tmp, its
// checksum block written) and before the rename (CIR_FAULT=store.commit:1
// in store_commit_writer) leaves the store as it was, and readable; the
// snapshot it did not publish is complete, and the next writer removes it.
TEST_F(Crash, AKillBetweenClosingTheNewSnapshotAndItsRenameKeepsTheOldOne) {
  const fs::path path = dir_ / "crash.h5";
  const fs::path tmp = path.string() + ".tmp";
  const TrialSpec spec = trial(0);
  {
    Writer writer = Writer::open(path, header());
    writer.add_trials({spec});
    for (int epoch = 0; epoch < 3; ++epoch) writer.append_epoch(record(spec.id, epoch));
  }
  const std::string before = bytes_of(path);
  std::vector<std::string> environment;
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (std::string_view(*variable).rfind("CIR_FAULT=", 0) != 0) environment.emplace_back(*variable);
  }
  environment.emplace_back("CIR_FAULT=store.commit:1");
  std::vector<char*> envp;
  for (std::string& variable : environment) envp.push_back(variable.data());
  envp.push_back(nullptr);
  const pid_t child = fork();
  ASSERT_GE(child, 0) << "fork failed";
  if (child == 0) {
    execle(CIR_STORE_COMMIT_WRITER, CIR_STORE_COMMIT_WRITER, path.c_str(), static_cast<char*>(nullptr),
           envp.data());
    _exit(127);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer was not killed at store.commit (exit " << WEXITSTATUS(status)
      << "), see its message above";
  ASSERT_TRUE(fs::exists(tmp)) << "the writer died before writing its snapshot";
  EXPECT_EQ(bytes_of(path), before) << "the store changed before the rename";
  {
    const Reader reader = Reader::open(path);
    ASSERT_EQ(reader.trials().size(), 1u);
    EXPECT_EQ(reader.epochs(spec.id).size(), 3u);
  }
  EXPECT_EQ(Reader::open(tmp).trials().size(), 2u) << "the unpublished snapshot is complete and checksummed";
  { Writer writer = Writer::open(path, header()); }
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(Reader::open(path).epochs(spec.id).size(), 3u);
}

}  // namespace
}  // namespace cir::store::testing
