// cir-sweep under real mpirun with the fake runner: every trial runs once,
// groups of consecutive ranks, a SIGKILL or SIGUSR1 mid-sweep loses nothing
// and a rerun resumes, a throwing trial is recorded as failed (exit 4) and
// is run again by --retry-failed or sweep.max_retries, a store written for
// another spec or damaged is refused (exit 3), and a rank that stalls its
// group is named, fails its trial and hangs nothing.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "store/store.hpp"
#include "tests/launcher/fake_runner.hpp"

namespace fs = std::filesystem;
using cir::TrialStatus;

namespace {

constexpr const char* kSpec = R"(
[sweep]
name = "fake"
seeds = [0, 1]
ranks_per_trial = RANKS
[train]
epochs = EPOCHS
[grid]
"loss.gamma0" = [0.5, 1.0, 2.0, inf]
)";

std::string replace(std::string text, const std::string& what, const std::string& with) {
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what))
    text.replace(at, what.size(), with);
  return text;
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every process below `root` (mpirun's ranks live in their own process
// groups), deepest last.
std::vector<pid_t> descendants(pid_t root) {
  std::multimap<pid_t, pid_t> children;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::istringstream stat(read(entry.path() / "stat"));
    std::string pid, comm, state;
    pid_t parent = 0;
    stat >> pid >> comm >> state >> parent;  // comm has no spaces for these programs
    children.emplace(parent, static_cast<pid_t>(std::stol(name)));
  }
  std::vector<pid_t> out{root};
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto [first, last] = children.equal_range(out[i]);
    for (auto it = first; it != last; ++it) out.push_back(it->second);
  }
  return out;
}

// One line per event the fake runner wrote, from every rank.
struct Audit {
  std::vector<std::string> lines;
  // trial id → (world rank, group_rank, group_size, resume_from, local_rank,
  // local_size) of each run start
  std::multimap<std::string, std::array<int, 6>> runs;
};

class MpiSweep : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cir_mpi_" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = dir_ / "fake.h5";
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // `sweep`: more [sweep] lines.
  fs::path write_spec(int ranks, int epochs, const std::string& sweep = {}) {
    const fs::path spec = dir_ / "fake.toml";
    std::ofstream(spec) << replace(replace(kSpec, "RANKS", std::to_string(ranks) + "\n" + sweep), "EPOCHS",
                                   std::to_string(epochs));
    return spec;
  }

  // Starts `mpirun -n ranks cir-sweep-fake spec --store … args` in its own
  // process group, with the fake runner configured by `env`; `on_terminal`:
  // under script(1), so that mpirun's output is a terminal, whose screen
  // goes to the log.
  pid_t start(int ranks, const fs::path& spec, const std::map<std::string, std::string>& env,
              const std::vector<std::string>& args = {}, bool on_terminal = false) {
    const fs::path audit = dir_ / ("audit" + std::to_string(++runs_));
    fs::create_directories(audit);
    audit_dirs_.push_back(audit);
    log_ = dir_ / ("run" + std::to_string(runs_) + ".log");
    std::vector<std::string> argv = {CIR_MPIEXEC,       "-n",           std::to_string(ranks),
                                     "--oversubscribe", CIR_SWEEP_FAKE, spec.string(),
                                     "--store",         store_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    if (on_terminal) {
      std::string command;
      for (const auto& a : argv) command += a + " ";
      argv = {"/usr/bin/script", "-qefc", command, "/dev/null"};
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
      ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
      // One node, shared memory only: skips the network transports' start-up.
      ::setenv("OMPI_MCA_pml", "ob1", 1);
      ::setenv("OMPI_MCA_btl", "self,vader", 1);
      ::setenv("CIR_FAKE_AUDIT", audit.c_str(), 1);
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> c_argv;
      for (auto& a : argv) c_argv.push_back(a.data());
      c_argv.push_back(nullptr);
      ::execv(c_argv[0], c_argv.data());
      ::_exit(127);
    }
    ::setpgid(pid, pid);
    return pid;
  }

  // Waits for the run; kills it after 60 s.
  int wait_exit(pid_t pid) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        for (const pid_t p : descendants(pid)) ::kill(p, SIGKILL);
        ::waitpid(pid, &status, 0);
        ADD_FAILURE() << "mpirun did not finish in 60 s; its output:\n" << read(log_);
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  int run(int ranks, const fs::path& spec, const std::map<std::string, std::string>& env = {},
          const std::vector<std::string>& args = {}) {
    return wait_exit(start(ranks, spec, env, args));
  }

  std::string output() const { return read(log_); }

  Audit audit(std::size_t run) const {
    Audit a;
    for (const auto& entry : fs::directory_iterator(audit_dirs_.at(run - 1))) {
      std::istringstream lines(read(entry.path()));
      for (std::string line; std::getline(lines, line);) {
        a.lines.push_back(line);
        std::istringstream words(line);
        std::string kind, id, w;
        words >> kind >> id;
        if (kind != "run") continue;
        std::array<int, 6> v{};
        words >> w >> v[0] >> w >> v[1] >> w >> v[2] >> w >> v[3] >> w >> v[4] >> w >> v[5];
        a.runs.emplace(id, v);
      }
    }
    return a;
  }

  // The store as it is on disk now, or nullopt while it does not exist yet.
  std::optional<std::vector<cir::store::TrialRow>> rows() const {
    try {
      return cir::store::Reader::open(store_).trials();
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  // Waits (up to 30 s) until `ready` holds for the store on disk.
  template <typename F>
  bool wait_for_store(F&& ready) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto r = rows(); r && ready(*r)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Every trial done, with epochs 0 … epochs-1 once each and the fake's numbers.
  void expect_complete(int epochs) {
    const auto reader = cir::store::Reader::open(store_);
    ASSERT_EQ(reader.trials().size(), 8u);
    for (const auto& row : reader.trials()) {
      EXPECT_EQ(row.status, TrialStatus::done) << row.spec.id;
      EXPECT_EQ(row.epochs_done, epochs) << row.spec.id;
      const auto records = reader.epochs(row.spec.id);
      ASSERT_EQ(records.size(), static_cast<std::size_t>(epochs)) << row.spec.id;
      for (int e = 0; e < epochs; ++e) {
        EXPECT_EQ(records[e].epoch, e);
        EXPECT_EQ(records[e].loss_total, cir::testing::fake_loss(row.spec, e))
            << row.spec.id << " epoch " << e;
      }
    }
  }

  fs::path dir_, store_, log_;
  int runs_ = 0;
  std::vector<fs::path> audit_dirs_;
};

int count_status(const std::vector<cir::store::TrialRow>& rows, TrialStatus status) {
  return static_cast<int>(
      std::count_if(rows.begin(), rows.end(), [&](const auto& r) { return r.status == status; }));
}

// The first trial with loss.gamma0 = 2.0 that a process runs fails at epoch
// 1; the later ones, a retry of it included, do not.
const std::map<std::string, std::string> kFailOnce = {{"CIR_FAKE_FAIL", "loss.gamma0=2.0"},
                                                      {"CIR_FAKE_FAIL_TIMES", "1"}};

// The trial that failed once and was retried: done, on its second attempt;
// the first attempt's epoch 0 kept and marked attempt 0, the second's
// `epochs` epochs read by default; the first attempt's error in its notes.
void expect_two_attempts(const fs::path& store, const std::string& id, int epochs) {
  const auto reader = cir::store::Reader::open(store);
  const auto row = std::find_if(reader.trials().begin(), reader.trials().end(),
                                [&](const auto& r) { return r.spec.id == id; });
  ASSERT_NE(row, reader.trials().end());
  EXPECT_EQ(row->status, TrialStatus::done);
  EXPECT_EQ(row->retries, 1);
  EXPECT_EQ(row->error, "");
  EXPECT_NE(row->notes_json.find(R"("attempt":0,"epochs":1,"error":"fake failure at epoch 1)"),
            std::string::npos)
      << row->notes_json;
  const auto first = reader.epochs(id, 0);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].epoch, 0);
  EXPECT_EQ(first[0].loss_total, cir::testing::fake_loss(row->spec, 0));
  const auto current = reader.epochs(id);
  ASSERT_EQ(current.size(), static_cast<std::size_t>(epochs));
  EXPECT_EQ(reader.epochs(id, 1), current);
  for (int e = 0; e < epochs; ++e) EXPECT_EQ(current[e].loss_total, cir::testing::fake_loss(row->spec, e));
}

}  // namespace

TEST_F(MpiSweep, ThreeGroupsRunEveryTrialOnce) {
  const auto spec = write_spec(1, 3);
  ASSERT_EQ(run(3, spec, {{"SLURM_JOB_ID", "4242"}, {"SLURM_RESTART_COUNT", "1"}}), 0) << output();
  expect_complete(3);
  const Audit a = audit(1);
  std::set<std::string> ids;
  for (const auto& [id, v] : a.runs) {
    EXPECT_TRUE(ids.insert(id).second) << id << " ran twice";
    EXPECT_EQ(v[2], 1);  // group size
  }
  EXPECT_EQ(ids.size(), 8u);
  // Every rank runs on this host: each trial's notes name it as its one host.
  std::array<char, 256> host{};
  gethostname(host.data(), host.size() - 1);
  const auto reader = cir::store::Reader::open(store_);
  for (const auto& row : reader.trials()) {
    EXPECT_EQ(row.attempts, 1);
    EXPECT_NE(row.notes_json.find(R"("slurm":{"job_id":"4242","restart_count":"1"})"), std::string::npos)
        << row.notes_json;
    EXPECT_NE(row.notes_json.find(std::string(R"("hosts":[")") + host.data() + R"("])"), std::string::npos)
        << row.notes_json;
  }
  EXPECT_NE(output().find("sweep: 8 done, 0 failed"), std::string::npos) << output();
}

// Both ranks run on this host, so its node communicator holds them both: local
// size 2, local ranks 0 and 1 in world-rank order.
TEST_F(MpiSweep, TrialsKnowTheirRanksPlaceOnItsNode) {
  const auto spec = write_spec(1, 1);
  ASSERT_EQ(run(2, spec), 0) << output();
  std::set<int> local_ranks;
  for (const auto& [id, v] : audit(1).runs) {
    EXPECT_EQ(v[4], v[0]) << id;  // local rank follows world rank on one node
    EXPECT_EQ(v[5], 2) << id;
    local_ranks.insert(v[4]);
  }
  EXPECT_EQ(local_ranks, (std::set<int>{0, 1}));
}

TEST_F(MpiSweep, GroupsOfTwoConsecutiveRanksAndAnIdleOne) {
  const auto spec = write_spec(2, 2);
  ASSERT_EQ(run(5, spec), 0) << output();
  EXPECT_NE(output().find("5 rank(s): 2 group(s) of 2, 1 idle"), std::string::npos) << output();
  expect_complete(2);
  std::map<std::string, std::set<int>> ranks_of;
  for (const auto& [id, v] : audit(1).runs) {
    EXPECT_EQ(v[2], 2) << id;
    EXPECT_EQ(v[1], v[0] % 2) << id;  // group rank follows world rank
    ranks_of[id].insert(v[0]);
  }
  EXPECT_EQ(ranks_of.size(), 8u);
  for (const auto& [id, ranks] : ranks_of)
    EXPECT_TRUE(ranks == std::set<int>({0, 1}) || ranks == std::set<int>({2, 3})) << id;
}

TEST_F(MpiSweep, KilledSweepResumesWithNothingLostOrRepeated) {
  const auto spec = write_spec(1, 4);
  const pid_t pid = start(3, spec, {{"CIR_FAKE_STEP_MS", "40"}});
  const bool midway = wait_for_store([](const auto& rows) {
    const bool some_done = count_status(rows, TrialStatus::done) >= 1;
    const bool some_partial = std::any_of(rows.begin(), rows.end(), [](const auto& r) {
      return r.status != TrialStatus::done && r.epochs_done >= 1;
    });
    return some_done && some_partial;
  });
  for (const pid_t p : descendants(pid)) ::kill(p, SIGKILL);  // the whole job at once, like a node failure
  wait_exit(pid);
  ASSERT_TRUE(midway) << "the sweep never reached a state with done and half-done trials";

  const auto killed = *rows();
  std::map<std::string, cir::store::TrialRow> before;
  for (const auto& row : killed) before[row.spec.id] = row;
  ASSERT_EQ(run(3, spec), 0) << output();
  expect_complete(4);
  const Audit again = audit(2);
  for (const auto& [id, row] : before) {
    const auto runs = again.runs.count(id);
    if (row.status == TrialStatus::done) {
      EXPECT_EQ(runs, 0u) << id << " was done before the kill and ran again";
    } else {
      ASSERT_EQ(runs, 1u) << id;
      EXPECT_EQ(again.runs.find(id)->second[3], row.epochs_done)
          << id << " did not resume from its last commit";
    }
  }
}

TEST_F(MpiSweep, Sigusr1StopsWithExit75AndRerunFinishes) {
  const auto spec = write_spec(1, 4);
  const pid_t pid = start(3, spec, {{"CIR_FAKE_STEP_MS", "40"}});
  const bool started = wait_for_store([](const auto& rows) {
    return std::any_of(rows.begin(), rows.end(), [](const auto& r) { return r.epochs_done >= 1; });
  });
  ::kill(pid, SIGUSR1);  // mpirun forwards it to every rank
  ASSERT_TRUE(started);
  ASSERT_EQ(wait_exit(pid), 75) << output();

  const auto stopped = *rows();
  EXPECT_EQ(count_status(stopped, TrialStatus::running), 0);
  EXPECT_LT(count_status(stopped, TrialStatus::done), 8);
  std::map<std::string, cir::store::TrialRow> before;
  for (const auto& row : stopped) before[row.spec.id] = row;
  // The stop came at a step boundary: every trial that ran stopped there.
  int stops = 0;
  for (const auto& line : audit(1).lines) stops += line.starts_with("stop ");
  EXPECT_GE(stops, 1);

  ASSERT_EQ(run(3, spec), 0) << output();
  expect_complete(4);
  for (const auto& [id, v] : audit(2).runs) {
    EXPECT_NE(before.at(id).status, TrialStatus::done) << id;
    EXPECT_EQ(v[3], before.at(id).epochs_done) << id;
  }
}

// Progress written to a file (mpirun's output redirected, as in a Slurm log)
// is timestamped lines without cursor control, although every rank's own
// output is a pseudo-terminal under mpirun; on a terminal the live view is
// drawn. --progress live and none override.
TEST_F(MpiSweep, ProgressIsPlainLinesInAFileAndLiveOnATerminal) {
  const auto spec = write_spec(1, 2);
  const auto fresh_run = [&](const std::vector<std::string>& args, bool on_terminal) {
    fs::remove(store_);
    EXPECT_EQ(wait_exit(start(2, spec, {}, args, on_terminal)), 0) << output();
    return output();
  };
  const std::string escape = "\x1b[";
  std::string text = fresh_run({}, false);
  EXPECT_EQ(text.find(escape), std::string::npos) << text;
  EXPECT_NE(text.find("Z epoch  trial "), std::string::npos) << text;

  text = fresh_run({}, true);
  EXPECT_NE(text.find(escape), std::string::npos) << "no live view on a terminal\n" << text;

  text = fresh_run({"--progress", "live"}, false);
  EXPECT_NE(text.find(escape), std::string::npos) << text;

  text = fresh_run({"--progress", "none"}, false);
  EXPECT_EQ(text.find("trial "), std::string::npos) << text;
  EXPECT_EQ(text.find(escape), std::string::npos) << text;
}

TEST_F(MpiSweep, ThrowingTrialFailsAndTheSweepGoesOn) {
  const auto spec = write_spec(1, 3);
  ASSERT_EQ(run(3, spec, {{"CIR_FAKE_FAIL", "loss.gamma0=2.0"}}), 4) << output();
  const auto reader = cir::store::Reader::open(store_);
  int failed = 0;
  for (const auto& row : reader.trials()) {
    if (row.spec.params_json.find("\"loss.gamma0\":2.0") != std::string::npos) {
      ++failed;
      EXPECT_EQ(row.status, TrialStatus::failed);
      EXPECT_NE(row.error.find("fake failure at epoch 1"), std::string::npos) << row.error;
      EXPECT_EQ(row.epochs_done, 1);
    } else {
      EXPECT_EQ(row.status, TrialStatus::done) << row.spec.id;
    }
  }
  EXPECT_EQ(failed, 2);
  // A rerun does not retry finished trials, failed ones included, and still says 4.
  ASSERT_EQ(run(2, spec), 4) << output();
  EXPECT_TRUE(audit(2).runs.empty());
}

TEST_F(MpiSweep, RetryFailedRunsAFailedTrialAgainKeepingItsFirstAttemptsRows) {
  const auto spec = write_spec(1, 3);
  ASSERT_EQ(run(1, spec, kFailOnce), 4) << output();
  const auto failed = *rows();
  ASSERT_EQ(count_status(failed, TrialStatus::failed), 1) << output();
  const auto it = std::find_if(failed.begin(), failed.end(),
                               [](const auto& r) { return r.status == TrialStatus::failed; });
  EXPECT_EQ(it->epochs_done, 1);
  const std::string id = it->spec.id;

  ASSERT_EQ(run(1, spec, {}, {"--retry-failed"}), 0) << output();
  EXPECT_NE(output().find("--retry-failed: 1 failed or diverged trial(s) run again"), std::string::npos)
      << output();
  expect_complete(3);
  // Only the failed trial ran, from its first epoch.
  const Audit again = audit(2);
  ASSERT_EQ(again.runs.size(), 1u);
  ASSERT_EQ(again.runs.count(id), 1u);
  EXPECT_EQ(again.runs.find(id)->second[3], 0);
  expect_two_attempts(store_, id, 3);
  // A third run has nothing to retry.
  ASSERT_EQ(run(1, spec, {}, {"--retry-failed"}), 0) << output();
  EXPECT_TRUE(audit(3).runs.empty());
}

TEST_F(MpiSweep, MaxRetriesRetriesAFailedTrialWithinTheRun) {
  const auto spec = write_spec(1, 3);
  ASSERT_EQ(run(1, spec, kFailOnce, {"--set", "sweep.max_retries=1"}), 0) << output();
  expect_complete(3);
  std::vector<std::string> retried;
  const auto after = *rows();
  for (const auto& row : after)
    if (row.retries > 0) retried.push_back(row.spec.id);
  ASSERT_EQ(retried.size(), 1u) << output();
  EXPECT_NE(output().find("retry  trial " + retried[0]), std::string::npos) << output();
  EXPECT_NE(output().find("retry 1 of sweep.max_retries = 1, from epoch 0"), std::string::npos) << output();
  expect_two_attempts(store_, retried[0], 3);
}

TEST_F(MpiSweep, MaxRetriesZeroLeavesAFailedTrialFailed) {
  const auto spec = write_spec(1, 3);
  ASSERT_EQ(run(1, spec, kFailOnce, {"--set", "sweep.max_retries=0"}), 4) << output();
  const auto after = *rows();
  EXPECT_EQ(count_status(after, TrialStatus::failed), 1);
  for (const auto& row : after) EXPECT_EQ(row.retries, 0) << row.spec.id;
  EXPECT_EQ(output().find("retry  "), std::string::npos) << output();
}

TEST_F(MpiSweep, TooFewRanksForAGroupIsAUsageError) {
  ASSERT_EQ(run(1, write_spec(2, 1)), 2) << output();
  EXPECT_NE(output().find("1 rank(s) cannot form a group of sweep.ranks_per_trial = 2"), std::string::npos)
      << output();
}

TEST_F(MpiSweep, AStoreThatCannotBeCreatedStopsTheSweepBeforeAnyTrial) {
  const auto spec = write_spec(1, 1);
  const fs::path file = dir_ / "a-file";
  std::ofstream(file) << "not a folder\n";
  store_ = file / "fake.h5";
  ASSERT_EQ(run(2, spec), 2) << output();
  EXPECT_NE(output().find("--store: cannot create the store " + store_.string() + ": " + file.string() +
                          " is not a folder; no trial was started"),
            std::string::npos)
      << output();
  EXPECT_TRUE(audit(1).runs.empty()) << "no trial ran";
}

TEST_F(MpiSweep, StoreOfAnotherSpecIsRefusedUnlessForced) {
  const auto spec = write_spec(1, 1);
  ASSERT_EQ(run(1, spec), 0) << output();
  ASSERT_EQ(run(1, spec, {}, {"--set", "train.epochs=2"}), 3) << output();
  EXPECT_NE(output().find("train.epochs"), std::string::npos) << output();
  ASSERT_EQ(run(1, spec, {}, {"--set", "train.epochs=2", "--force-new-spec"}), 0) << output();
  expect_complete(2);
}

// A rerun on a store with a damaged byte stops before any trial, exit 3,
// naming the store, and leaves the file as it is (its checksum is checked
// before HDF5 reads it: libhdf5 reads damaged files out of bounds).
TEST_F(MpiSweep, ADamagedStoreIsRefusedBeforeAnyTrial) {
  const auto spec = write_spec(1, 1);
  ASSERT_EQ(run(1, spec), 0) << output();
  std::string bytes = read(store_);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
  std::ofstream(store_, std::ios::binary | std::ios::trunc) << bytes;
  ASSERT_EQ(run(1, spec), 3) << output();
  EXPECT_NE(output().find("fake.h5"), std::string::npos) << output();
  EXPECT_NE(output().find("the store is truncated or corrupt"), std::string::npos) << output();
  EXPECT_TRUE(audit(2).runs.empty()) << "a trial ran on the damaged store";
  EXPECT_EQ(read(store_), bytes);
}

// The failed trials of the store, and a check that every other one is done
// with all its epochs.
std::vector<cir::store::TrialRow> failed_and_others_done(const fs::path& store, int epochs) {
  const auto reader = cir::store::Reader::open(store);
  std::vector<cir::store::TrialRow> failed;
  for (const auto& row : reader.trials()) {
    if (row.status == TrialStatus::failed) {
      failed.push_back(row);
      continue;
    }
    EXPECT_EQ(row.status, TrialStatus::done) << row.spec.id;
    EXPECT_EQ(reader.epochs(row.spec.id).size(), static_cast<std::size_t>(epochs)) << row.spec.id;
  }
  return failed;
}

// One rank stops (sleeps in place at a training step) while the other rank
// of its group waits in a collective. Watching the log as the sweep runs:
// the stall inspector names the missing rank about sweep.stall_warning
// after it stopped, the trial fails at sweep.stall_timeout with that
// message, the rank comes back to find its trial failed, and the group goes
// on with its next trial: every other trial finishes.
TEST_F(MpiSweep, StalledRankIsNamedAndItsTrialFailsWhileTheSweepGoesOn) {
  const auto spec = write_spec(2, 3, "stall_warning = 1\nstall_timeout = 4");
  // World rank 3 is group rank 1 of group 1; its 6th step is epoch 1, step 1
  // of its first trial.
  const pid_t pid = start(4, spec, {{"CIR_FAULT", "train.step:6:sleep=6@3"}}, {});
  using Clock = std::chrono::steady_clock;
  // When the log first holds `text` (polled, up to 30 s).
  const auto seen = [&](const std::string& text) -> std::optional<Clock::time_point> {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      if (output().find(text) != std::string::npos) return Clock::now();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  };
  const auto stopped = seen("sleeps 6 s at train.step (arrival 6)");
  const auto warned = seen("stall: group rank 0 (world rank 2, host ");
  const auto failed_at = seen("failing it on every rank of the group: stalled:");
  ASSERT_EQ(wait_exit(pid), 4) << output();
  ASSERT_TRUE(stopped && warned && failed_at) << output();
  const auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  // stall_warning = 1 s, checked every 0.25 s; the rest is the log's way
  // through mpirun.
  EXPECT_GE(seconds(*warned - *stopped), 0.9) << output();
  EXPECT_LE(seconds(*warned - *stopped), 2.5) << output();
  EXPECT_GE(seconds(*failed_at - *stopped), 3.9) << output();
  EXPECT_LE(seconds(*failed_at - *stopped), 5.5) << output();

  const std::string log = output();
  const std::string missing = "for group rank 1 (world rank 3, host ";
  EXPECT_NE(log.find(missing, log.find("stall: group rank 0 (world rank 2")), std::string::npos) << log;
  EXPECT_NE(log.find("at epoch 1, step 1, outside any collective"), std::string::npos) << log;
  const auto failed = failed_and_others_done(store_, 3);
  ASSERT_EQ(failed.size(), 1u) << log;
  EXPECT_NE(failed[0].error.find("stalled: group rank 0 (world rank 2"), std::string::npos)
      << failed[0].error;
  EXPECT_NE(failed[0].error.find(missing), std::string::npos) << failed[0].error;
  EXPECT_NE(failed[0].error.find("failed after sweep.stall_timeout = 4 s"), std::string::npos)
      << failed[0].error;
  EXPECT_EQ(failed[0].epochs_done, 1);
}

// A rank stuck for good: the trial fails at sweep.stall_timeout, and when
// the rank is still in it stall_timeout later, MPI cannot bring it out: the
// job ends with 75, the failure recorded; a rerun finishes every other trial.
TEST_F(MpiSweep, RankStuckForGoodEndsTheJobWith75AndARerunFinishes) {
  const auto spec = write_spec(2, 3, "stall_warning = 1\nstall_timeout = 2");
  ASSERT_EQ(run(4, spec, {{"CIR_FAULT", "train.step:6:sleep=600@3"}}), 75) << output();
  EXPECT_NE(output().find("MPI cannot take a rank out of where it is stuck, so the job ends (exit 75)"),
            std::string::npos)
      << output();
  const auto stuck = *rows();
  ASSERT_EQ(count_status(stuck, TrialStatus::failed), 1) << output();
  for (const auto& row : stuck) {
    if (row.status == TrialStatus::failed) {
      EXPECT_NE(row.error.find("group rank 1 (world rank 3, host "), std::string::npos) << row.error;
    }
  }

  ASSERT_EQ(run(4, spec), 4) << output();
  ASSERT_EQ(failed_and_others_done(store_, 3).size(), 1u);
}

// A rank that throws out of its run (outside the trainer's agreed errors)
// while the rest of its group waits in a collective: the group does not
// hang, even with the default stall limits: the trial fails at once with
// that rank's error, and the sweep goes on.
TEST_F(MpiSweep, RankThatThrowsOutsideTheTrainerDoesNotHangItsGroup) {
  const auto spec = write_spec(2, 3);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(run(4, spec, {{"CIR_FAULT", "train.step:6:throw@3"}}), 4) << output();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  const auto failed = failed_and_others_done(store_, 3);
  ASSERT_EQ(failed.size(), 1u) << output();
  EXPECT_NE(failed[0].error.find("on group rank 1: CIR_FAULT: pid "), std::string::npos) << failed[0].error;
  EXPECT_NE(failed[0].error.find("throws at train.step (arrival 6)"), std::string::npos) << failed[0].error;
}
