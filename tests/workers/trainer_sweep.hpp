// What the trainer's integration tests share: a tiny sweep spec in a fresh
// folder, cir-sweep under a real mpirun, and the rows of the store it fills.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/trial.hpp"
#include "store/store.hpp"

extern char** environ;

namespace cir::trainer_test {

// cir-sweep sits beside the test programs (CMakeLists.txt puts every program
// in build/bin). Found at run time rather than compiled in, so that these
// tests' compile lines are the same in every checkout and ccache shares them.
inline std::string sweep_program() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "cir-sweep").string();
}

// cir-report, beside cir-sweep.
inline std::string report_program() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "cir-report").string();
}

// slurm/run-sweep, which ctest names in CIR_RUN_SWEEP (tests/workers/CMakeLists.txt).
inline std::string run_sweep_script() {
  const char* path = std::getenv("CIR_RUN_SWEEP");
  EXPECT_NE(path, nullptr)
      << "CIR_RUN_SWEEP is unset: run this test through ctest, or set it to slurm/run-sweep";
  return path != nullptr ? path : "slurm/run-sweep";
}

// A model and data small enough for a step in milliseconds: ResNet-18 at
// width 8 on 32 px images, an LSTM text encoder, 32-wide features.
inline const char* kTinyPreset = R"(
[data]
dataset = "synthetic"
image_size = 32
workers = 1
prefetch = 2

[data.synthetic]
attribute_sets = 8
twins = 2
train_queries = 48
test_queries = 24

[model]
feature_dim = 32

[model.image]
arch = "resnet18"
width = 8

[model.compositor]
heads = 2

[model.text]
encoder = "lstm"
max_length = 16

[model.lstm]
embed = 32
hidden = 32

[train]
epochs = 2
batch = 8
lr = 0.02
schedule = "paper"
lr_steps = [1]
threads = 1

[eval]
ks = [1, 5]
batch = 16
)";

struct Sweep {
  std::filesystem::path dir;
  std::filesystem::path spec() const { return dir / "spec.toml"; }
  // cir-sweep's defaults, relative to the folder it runs in.
  std::filesystem::path store() const { return dir / "results" / "tiny.h5"; }
  std::filesystem::path checkpoints() const { return dir / "results" / "tiny" / "checkpoints"; }
};

// A fresh folder `folder` holding spec.toml: sweep "tiny" with the tiny
// preset, `sweep_table` (more [sweep] keys) and `extra` TOML. Sweeps in
// different folders with the same text have the same trial ids.
inline Sweep tiny_sweep(const std::string& folder, const std::string& sweep_table,
                        const std::string& extra = {}) {
  Sweep sweep{std::filesystem::path(::testing::TempDir()) /
              ("cir-trainer-" + folder + "-" + std::to_string(getpid()))};
  std::filesystem::remove_all(sweep.dir);
  std::filesystem::create_directories(sweep.dir);
  std::ofstream(sweep.spec()) << "[sweep]\nname = \"tiny\"\n" << sweep_table << "\n" << kTinyPreset << extra;
  return sweep;
}

// How start_sweep starts mpirun.
struct Launch {
  std::string fault;         // CIR_FAULT for every rank (common/fault.hpp); empty: unset
  bool own_session = false;  // the process started leads a new session (whose id is its pid)
  bool run_sweep = false;    // through `slurm/run-sweep --no-requeue`, which starts mpirun
};

// Starts `mpirun -n ranks cir-sweep SPEC args…` (or run-sweep with that
// mpirun as its launcher) in the sweep's folder (so results/ lands there)
// with its output in dir/<log>; returns the pid of what it started.
inline pid_t start_sweep(const Sweep& sweep, int ranks, const std::vector<std::string>& args,
                         const std::string& log, const Launch& launch = {}) {
  if (launch.fault.empty()) {
    unsetenv("CIR_FAULT");
  } else {
    setenv("CIR_FAULT", launch.fault.c_str(), 1);
  }
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  // Ranks waiting in a collective yield the core instead of spinning: on a
  // busy machine a spinning rank starves the one it waits for.
  setenv("OMPI_MCA_mpi_yield_when_idle", "1", 1);
  const std::string mpirun = "mpirun -n " + std::to_string(ranks) + " --oversubscribe";
  std::vector<std::string> argv = {"mpirun", "-n", std::to_string(ranks), "--oversubscribe", sweep_program()};
  if (launch.run_sweep)
    argv = {"bash", run_sweep_script(), "--no-requeue", "--launcher", mpirun, "--cir-sweep", sweep_program()};
  argv.push_back(sweep.spec().string());
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> pointers;
  for (auto& arg : argv) pointers.push_back(arg.data());
  pointers.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log_path = (sweep.dir / log).string();
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addchdir_np(&actions, sweep.dir.c_str());
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  if (launch.own_session) posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0].c_str(), &actions, &attributes, pointers.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(rc, 0) << "cannot start " << argv[0];
  return pid;
}

// mpirun's exit code (128 + signal when it died of one).
inline int wait_sweep(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

inline int run_sweep(const Sweep& sweep, int ranks, const std::vector<std::string>& args = {},
                     const std::string& log = "sweep.log") {
  return wait_sweep(start_sweep(sweep, ranks, args, log));
}

inline std::string read_log(const Sweep& sweep, const std::string& log = "sweep.log") {
  std::ifstream in(sweep.dir / log);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Whether child `pid` has ended; it is left for wait_sweep to reap.
inline bool ended(pid_t pid) {
  siginfo_t info{};
  return waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0;
}

// Waits until dir/<log> holds `text` at least `count` times (a fault
// point's line, say). Returns false when child `pid` ends first.
inline bool wait_for_log(const Sweep& sweep, const std::string& log, const std::string& text, int count,
                         pid_t pid) {
  while (true) {
    const std::string now = read_log(sweep, log);
    int found = 0;
    for (auto at = now.find(text); at != std::string::npos; at = now.find(text, at + 1)) ++found;
    if (found >= count) return true;
    if (ended(pid)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Everything of a record except the wall times, which no two runs share.
inline std::string row_text(const EpochRecord& r) {
  std::ostringstream out;
  out.precision(17);
  out << r.trial_id << " e" << r.epoch << " total " << r.loss_total << " info " << r.loss_info << " u "
      << r.loss_u << " gamma " << r.gamma << " std " << r.aug_std << " lr " << r.lr;
  for (const auto& recall : r.recalls) out << " " << recall.split << "@" << recall.k << "=" << recall.value;
  return out.str();
}

// The rows of every trial in the store, trial by trial in trial order.
inline std::vector<std::string> store_rows(const Sweep& sweep) {
  const auto reader = store::Reader::open(sweep.store());
  std::vector<std::string> rows;
  for (const auto& trial : reader.trials()) {
    for (const auto& record : reader.epochs(trial.spec.id)) rows.push_back(row_text(record));
  }
  return rows;
}

}  // namespace cir::trainer_test
