// `cir-sweep SPEC --count-requeue timeout|preemption`, what slurm/run-sweep
// asks before it requeues a stopped job: timeouts are bounded by
// sweep.max_requeues and counted in the store, preemptions always requeue.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "store/store.hpp"

namespace fs = std::filesystem;

namespace {

class RequeueCount : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cir_requeue_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    spec_ = dir_ / "sweep.toml";
    std::ofstream(spec_) << "[sweep]\nname = \"requeue\"\nmax_requeues = 2\n"
                            "[grid]\n\"loss.gamma0\" = [1.0, inf]\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  int count(const std::string& cause) {
    const std::string command = std::string(CIR_SWEEP_FAKE) + " " + spec_.string() + " --store " +
                                (dir_ / "requeue.h5").string() + " --count-requeue " + cause + " 2>>" +
                                (dir_ / "log").string();
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  fs::path dir_, spec_;
};

TEST_F(RequeueCount, TimeoutsAreBoundedByMaxRequeuesAndPreemptionsAreNot) {
  EXPECT_EQ(count("timeout"), 0);
  EXPECT_EQ(count("preemption"), 0);
  EXPECT_EQ(count("timeout"), 0);
  EXPECT_EQ(count("timeout"), 1) << "a third timeout exceeds max_requeues = 2";
  EXPECT_EQ(count("preemption"), 0);

  const auto reader = cir::store::Reader::open(dir_ / "requeue.h5");
  EXPECT_EQ(reader.header().requeues_timeout, 3);
  EXPECT_EQ(reader.header().requeues_preemption, 2);
  EXPECT_EQ(reader.header().sweep, "requeue") << "the count is kept in the sweep's own store";
}

TEST_F(RequeueCount, AnUnknownCauseIsAUsageError) { EXPECT_EQ(count("lunch"), 2); }

}  // namespace
