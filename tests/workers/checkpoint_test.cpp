#include "workers/checkpoint.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "common/error.hpp"
#include "tests/common/tmpfs.hpp"

namespace cir::workers {
namespace {
namespace fs = std::filesystem;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cir-ckpt-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

std::map<std::string, torch::Tensor> tensors_for(int epoch) {
  return {{"model.conv1.weight", torch::full({2, 3}, static_cast<float>(epoch))},
          {"optimizer.momentum/0", torch::arange(4, torch::kDouble) * epoch},
          {"schedule.step", torch::tensor({static_cast<std::int64_t>(epoch) * 10})}};
}

TEST_F(CheckpointTest, SavesAndLoadsNamedTensorsAndState) {
  CheckpointDir dir(dir_, 3);
  EXPECT_FALSE(dir.latest().has_value());
  const std::string name = dir.save({{"epoch", 4}, {"step", 120}, {"note", "x"}}, tensors_for(4));
  const std::optional<Checkpoint> loaded = dir.latest();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->name, name);
  EXPECT_EQ(loaded->state, (nlohmann::json{{"epoch", 4}, {"step", 120}, {"note", "x"}}));
  const auto expected = tensors_for(4);
  ASSERT_EQ(loaded->tensors.size(), expected.size());
  for (const auto& [key, tensor] : expected) {
    ASSERT_TRUE(loaded->tensors.count(key)) << key;
    EXPECT_TRUE(torch::equal(loaded->tensors.at(key), tensor)) << key;
    EXPECT_EQ(loaded->tensors.at(key).scalar_type(), tensor.scalar_type()) << key;
  }
}

TEST_F(CheckpointTest, KeepsTheLastKInWriteOrder) {
  CheckpointDir dir(dir_, 2);
  for (int epoch = 0; epoch < 5; ++epoch) dir.save({{"epoch", epoch}}, tensors_for(epoch));
  EXPECT_EQ(dir.names(), (std::vector<std::string>{"ckpt-000004", "ckpt-000005"}));
  // Newest means last written, even when it holds an earlier epoch (a resume).
  dir.save({{"epoch", 1}}, tensors_for(1));
  EXPECT_EQ(dir.latest()->state["epoch"], 1);
  // A predicate picks the newest acceptable one.
  EXPECT_EQ(dir.latest([](const nlohmann::json& s) { return s["epoch"] == 4; })->name, "ckpt-000005");
  EXPECT_FALSE(dir.latest([](const nlohmann::json& s) { return s["epoch"] == 0; }).has_value());
  // A new CheckpointDir over the same folder continues the numbering.
  CheckpointDir again(dir_, 2);
  EXPECT_EQ(again.save({{"epoch", 2}}, tensors_for(2)), "ckpt-000007");
  EXPECT_THROW(CheckpointDir(dir_, 0), Error);
}

TEST_F(CheckpointTest, ASaveOnAFullDiskIsAnIoFaultThatKeepsTheNewestCheckpoint) {
  const cir::testing::Tmpfs disk(dir_, "1m");
  if (!disk.mounted()) GTEST_SKIP() << disk.why();
  CheckpointDir dir(dir_ / "trial", 2);
  const std::string kept = dir.save({{"epoch", 0}}, tensors_for(0));
  disk.fill();
  try {
    dir.save({{"epoch", 1}}, tensors_for(1));
    FAIL() << "a checkpoint was written to a full disk";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::io_fault) << error.what();
    const std::string text = error.what();
    EXPECT_EQ(text.rfind((dir_ / "trial").string(), 0), 0u) << text;
    EXPECT_NE(text.find("No space left on device ("), std::string::npos) << text;
    EXPECT_NE(text.find(" free on its file system)"), std::string::npos) << text;
  }
  disk.unfill();
  EXPECT_EQ(dir.latest()->name, kept);
  EXPECT_EQ(dir.latest()->state["epoch"], 0);
  // Once space is freed, the next save goes through.
  EXPECT_EQ(CheckpointDir(dir_ / "trial", 2).save({{"epoch", 1}}, tensors_for(1)), "ckpt-000002");
}

TEST_F(CheckpointTest, ACorruptNewestFallsBackToThePrevious) {
  CheckpointDir dir(dir_, 3);
  dir.save({{"epoch", 0}}, tensors_for(0));
  dir.save({{"epoch", 1}}, tensors_for(1));
  const std::string newest = dir.save({{"epoch", 2}}, tensors_for(2));
  {  // Flip a byte in the middle of the newest tensors.
    std::fstream f(dir_ / newest / "tensors.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(dir_ / newest / "tensors.safetensors") / 2));
    f.put('\x5a');
  }
  EXPECT_EQ(dir.latest()->state["epoch"], 1);
  EXPECT_THROW(dir.load(newest), Error);
  // A truncated state file is no better.
  fs::resize_file(dir_ / "ckpt-000002" / "state.json", 10);
  EXPECT_EQ(dir.latest()->state["epoch"], 0);
  try {
    dir.load("ckpt-000002");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("state.json"), std::string::npos) << e.what();
  }
}

TEST_F(CheckpointTest, AKillDuringSaveLeavesTheLastCompleteCheckpointReadable) {
  std::mt19937 random(12345);
  for (int round = 0; round < 3; ++round) {
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    const pid_t child = ::fork();
    if (child == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::execl(CIR_CHECKPOINT_WRITER, CIR_CHECKPOINT_WRITER, dir_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    // Let it finish at least one save, then kill it at a random moment.
    char line[64];
    FILE* from_child = ::fdopen(out[0], "r");
    ASSERT_NE(std::fgets(line, sizeof line, from_child), nullptr) << "the writer did not save anything";
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 300)(random)));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    std::fclose(from_child);

    CheckpointDir dir(dir_, 2);  // also clears the killed writer's temporaries
    const std::optional<Checkpoint> latest = dir.latest();
    ASSERT_TRUE(latest.has_value()) << "round " << round;
    const auto step = latest->state["step"].get<std::int64_t>();
    EXPECT_TRUE(
        torch::equal(latest->tensors.at("weights"), torch::full({1 << 18}, static_cast<float>(step))));
    for (const auto& entry : fs::directory_iterator(dir_))
      EXPECT_EQ(entry.path().filename().string().rfind("ckpt-", 0), 0u) << entry.path();
  }
}

}  // namespace
}  // namespace cir::workers
