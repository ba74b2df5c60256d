// A full disk stops a sweep, it does not fail its trials
// (docs/architecture.md "Errors and exit codes"): a 2-rank sweep whose
// checkpoints, or whose store, lie on a small tmpfs that fills up mid-run
// stops with exit 74 and one line naming the path and the free space; the
// store keeps the rows committed before, no trial is failed, and once space
// is freed the rerun finishes with the rows and statuses of an
// uninterrupted run. Needs mount(2) (root): skipped, saying why, where it
// is not permitted.
#include <chrono>
#include <map>
#include <thread>

#include "tests/common/tmpfs.hpp"
#include "tests/workers/trainer_sweep.hpp"

namespace {

namespace fs = std::filesystem;
using namespace cir::trainer_test;
using cir::testing::Tmpfs;

constexpr const char* kSweepTable = "ranks_per_trial = 1\nseeds = [0, 1]\n";
// Enough epochs that the disk fills long before the sweep ends: an epoch
// takes ~0.15 s on an idle machine.
const std::vector<std::string> kArgs = {"--set", "train.epochs=20"};

std::map<std::string, std::vector<std::string>> rows_by_trial(const fs::path& store) {
  std::map<std::string, std::vector<std::string>> rows;
  const auto reader = cir::store::Reader::open(store);
  for (const auto& trial : reader.trials()) {
    auto& out = rows[trial.spec.id];
    for (const auto& record : reader.epochs(trial.spec.id)) out.push_back(row_text(record));
  }
  return rows;
}

std::map<std::string, std::string> statuses(const fs::path& store) {
  std::map<std::string, std::string> out;
  const auto reader = cir::store::Reader::open(store);
  for (const auto& trial : reader.trials()) {
    out[trial.spec.id] = std::string(cir::to_string(trial.status)) + " epochs " +
                         std::to_string(trial.epochs_done) + " error '" + trial.error + "'";
  }
  return out;
}

// Epoch rows committed to the store at `store` so far (0 while it does not
// exist yet).
std::size_t committed_rows(const fs::path& store) {
  try {
    std::size_t rows = 0;
    for (const auto& [id, trial_rows] : rows_by_trial(store)) rows += trial_rows.size();
    return rows;
  } catch (const std::exception&) {
    return 0;
  }
}

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

class DiskFull : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    reference_ = new Sweep(tiny_sweep("disk-full-reference", kSweepTable));
    reference_code_ = run_sweep(*reference_, 2, kArgs);
  }
  static void TearDownTestSuite() {
    delete reference_;
    reference_ = nullptr;
  }

  // Runs `sweep` until its store at `store` holds a committed epoch, then
  // fills `full`; returns the run's exit code.
  static int run_into_full_disk(const Sweep& sweep, const fs::path& store, const Tmpfs& full,
                                const std::vector<std::string>& args) {
    const pid_t pid = start_sweep(sweep, 2, args, "full.log");
    while (committed_rows(store) == 0) {
      if (ended(pid)) {
        ADD_FAILURE() << "the run ended before its first commit\n" << read_log(sweep, "full.log");
        return wait_sweep(pid);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    full.fill();
    return wait_sweep(pid);
  }

  // What a run that stopped on the full disk must leave: exit 74, one line
  // naming `path` and the free space, no HDF5 error stack and no abort, no
  // failed trial, and rows that are the uninterrupted run's first rows;
  // then, with the filler gone, a rerun that finishes with the
  // uninterrupted run's rows and statuses.
  static void expect_stop_and_resume(const Sweep& sweep, const fs::path& store, const Tmpfs& full,
                                     const std::string& path, const std::vector<std::string>& args) {
    ASSERT_EQ(reference_code_, 0) << read_log(*reference_);
    const auto expected = rows_by_trial(reference_->store());
    const int code = run_into_full_disk(sweep, store, full, args);
    const std::string log = read_log(sweep, "full.log");
    ASSERT_EQ(code, 74) << log;
    EXPECT_EQ(count_of(log, "No space left on device ("), 1u) << log;
    const auto line_start = log.rfind('\n', log.find("No space left on device (")) + 1;
    const std::string line = log.substr(line_start, log.find('\n', line_start) - line_start);
    EXPECT_NE(line.find(path), std::string::npos) << line;
    EXPECT_NE(line.find(" free on its file system)"), std::string::npos) << line;
    EXPECT_NE(line.find("rerun the same command"), std::string::npos) << line;
    EXPECT_EQ(log.find("HDF5-DIAG"), std::string::npos) << log;
    EXPECT_EQ(log.find("MPI_ABORT"), std::string::npos) << log;
    EXPECT_EQ(log.find("hint:"), std::string::npos) << log;
    std::size_t kept = 0;
    for (const auto& [id, rows] : rows_by_trial(store)) {
      const auto& reference_rows = expected.at(id);
      ASSERT_LE(rows.size(), reference_rows.size()) << id;
      for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i], reference_rows[i]) << id << " " << i;
      kept += rows.size();
    }
    EXPECT_GE(kept, 1u) << "the rows committed before the disk filled are gone";
    for (const auto& [id, status] : statuses(store))
      EXPECT_EQ(status.find("failed"), std::string::npos) << id << ": " << status;

    full.unfill();
    ASSERT_EQ(run_sweep(sweep, 2, args, "rerun.log"), 0) << read_log(sweep, "rerun.log");
    EXPECT_EQ(rows_by_trial(store), expected);
    EXPECT_EQ(statuses(store), statuses(reference_->store()));
  }

  static Sweep* reference_;
  static int reference_code_;
};

Sweep* DiskFull::reference_ = nullptr;
int DiskFull::reference_code_ = -1;

TEST_F(DiskFull, ACheckpointWriteOnAFullDiskStopsWith74AndTheRerunFinishes) {
  const Sweep sweep = tiny_sweep("disk-full-checkpoints", kSweepTable);
  // The checkpoints' folder on its own small disk; the store elsewhere.
  const Tmpfs disk(sweep.dir / "results" / "tiny", "64m");
  if (!disk.mounted()) GTEST_SKIP() << disk.why();
  expect_stop_and_resume(sweep, sweep.store(), disk, "results/tiny/checkpoints/", kArgs);
}

TEST_F(DiskFull, AStoreCommitOnAFullDiskStopsWith74AndTheRerunFinishes) {
  const Sweep sweep = tiny_sweep("disk-full-store", kSweepTable);
  // The store on its own small disk, its checkpoints on another.
  const fs::path store = sweep.dir / "small" / "tiny.h5";
  const Tmpfs store_disk(store.parent_path(), "16m");
  if (!store_disk.mounted()) GTEST_SKIP() << store_disk.why();
  const Tmpfs checkpoint_disk(store.parent_path() / "tiny", "64m");
  ASSERT_TRUE(checkpoint_disk.mounted()) << checkpoint_disk.why();
  std::vector<std::string> args = kArgs;
  args.insert(args.end(), {"--store", store.string()});
  expect_stop_and_resume(sweep, store, store_disk, store.string(), args);
}

}  // namespace
