#include "common/file_io.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>

#include "common/error.hpp"

namespace cir {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The cir::Error that `f` throws; fails the test when it throws none.
template <typename F>
Error error_of(F f) {
  try {
    f();
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "no cir::Error was thrown";
  return Error("none");
}

class FileIo : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("cir-file-io-" + std::string(info->name()) + "-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

TEST_F(FileIo, ReplaceLeavesTheNewBytesAndNoTemporaryFile) {
  const fs::path target = dir_ / "store.h5";
  std::ofstream(target) << "old content";
  replace_file(target, {"new ", "", "content"});
  EXPECT_EQ(read_text(target), "new content");
  EXPECT_FALSE(fs::exists(dir_ / "store.h5.tmp"));

  const fs::path tmp = dir_ / "store.h5.tmp.mine";
  replace_file(target, {"newer"}, tmp);
  EXPECT_EQ(read_text(target), "newer");
  EXPECT_FALSE(fs::exists(tmp));

  replace_file_with(target, dir_ / "store.h5.tmp",
                    [](const fs::path& path) { std::ofstream(path) << "written by a library"; });
  EXPECT_EQ(read_text(target), "written by a library");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(FileIo, AWriterThatFailsLeavesTheOldContentAndNoTemporaryFile) {
  const fs::path target = dir_ / "store.h5";
  const fs::path tmp = dir_ / "store.h5.tmp";
  std::ofstream(target) << "old content";
  EXPECT_THROW(replace_file_with(target, tmp,
                                 [](const fs::path& path) {
                                   std::ofstream(path) << "half of the new";
                                   throw Error("the library failed");
                                 }),
               Error);
  EXPECT_EQ(read_text(target), "old content");
  EXPECT_FALSE(fs::exists(tmp));
  // A writer that never creates the file: the fsync of the temporary fails.
  const Error error = error_of([&] { replace_file_with(target, tmp, [](const fs::path&) {}); });
  EXPECT_EQ(error.sys_errno(), ENOENT);
  EXPECT_EQ(error.where().file, tmp.string());
  EXPECT_EQ(read_text(target), "old content");
}

// A process killed at any moment of a replace leaves the old or the new
// complete content, never a mix or a truncated file.
TEST_F(FileIo, AKillAtAnyMomentLeavesTheOldOrTheNewContent) {
  const fs::path target = dir_ / "file";
  const std::string a(1 << 20, 'a'), b(1 << 20, 'b');
  replace_file(target, {a});
  std::mt19937 random(20261201);
  std::uniform_int_distribution<int> delay_us(0, 30000);
  for (int round = 0; round < 20; ++round) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      try {
        for (int i = 0;; ++i) replace_file(target, {i % 2 == 0 ? b : a});
      } catch (const std::exception& error) {
        std::fprintf(stderr, "child: %s\n", error.what());
        _exit(1);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(random)));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "round " << round << ": the child stopped by itself";
    const std::string content = read_text(target);
    ASSERT_TRUE(content == a || content == b)
        << "round " << round << ": " << content.size() << " bytes of mixed or partial content";
  }
}

TEST_F(FileIo, ADiskFullNamesThePathAndKeepsENOSPC) {
  const Error error = error_of([] { write_file_synced("/dev/full", {"more than fits"}); });
  EXPECT_EQ(error.sys_errno(), ENOSPC);
  EXPECT_EQ(error.where().file, "/dev/full");
  EXPECT_NE(std::string(error.what()).find("/dev/full: cannot write: No space left on device"),
            std::string::npos)
      << error.what();
  EXPECT_NE(error.hint().find("full"), std::string::npos) << error.what();
  // The errno survives the context added on the way up.
  EXPECT_EQ(error.within(Where{.trial = "3f2a91c0"}).sys_errno(), ENOSPC);
}

TEST_F(FileIo, AFullDiskOrADeviceErrorIsAnIoFaultWithTheFreeSpace) {
  const Error full = error_of([] { write_file_synced("/dev/full", {"more than fits"}); });
  EXPECT_EQ(full.code(), ExitCode::io_fault);
  EXPECT_NE(std::string(full.what()).find("No space left on device (" + free_space("/dev/full") + ")"),
            std::string::npos)
      << full.what();
  EXPECT_EQ(sys_error(EIO, dir_ / "x", "write").code(), ExitCode::io_fault);
  EXPECT_EQ(sys_error(EDQUOT, dir_ / "x", "write").code(), ExitCode::io_fault);
  EXPECT_EQ(sys_error(EACCES, dir_ / "x", "write").code(), ExitCode::usage);
  EXPECT_EQ(std::string(sys_error(EACCES, dir_ / "x", "write").what()).find(" free"), std::string::npos);
  // A path that does not exist (a removed temporary file) gets the free
  // space of its nearest folder (/dev's does not change while the test runs).
  EXPECT_EQ(free_space("/dev/gone/store.h5.tmp"), free_space("/dev"));
  EXPECT_NE(free_space(dir_).find(" free on its file system"), std::string::npos) << free_space(dir_);
  EXPECT_EQ(free_space("relative/missing"), free_space("."));
}

TEST_F(FileIo, AFolderThatCannotHoldTheFileIsNamed) {
  const fs::path missing = dir_ / "missing";
  Error error = error_of([&] { replace_file(missing / "store.h5", {"bytes"}); });
  EXPECT_EQ(error.sys_errno(), ENOENT);
  EXPECT_NE(std::string(error.what()).find((missing / "store.h5.tmp").string() + ": cannot create"),
            std::string::npos)
      << error.what();
  error = error_of([&] { sync_folder(missing); });
  EXPECT_EQ(error.where().file, missing.string());
  // A file where the folder should be.
  const fs::path not_a_folder = dir_ / "plain";
  std::ofstream(not_a_folder) << "x";
  error = error_of([&] { replace_file(not_a_folder / "store.h5", {"bytes"}); });
  EXPECT_EQ(error.sys_errno(), ENOTDIR);
  EXPECT_NE(std::string(error.what()).find(not_a_folder.string()), std::string::npos) << error.what();
  // A rename onto a folder that holds files fails naming both paths and
  // leaves no temporary file.
  fs::create_directories(dir_ / "occupied" / "inside");
  error = error_of([&] { replace_file(dir_ / "occupied", {"bytes"}, dir_ / "t"); });
  EXPECT_NE(std::string(error.what()).find("cannot rename it to " + (dir_ / "occupied").string()),
            std::string::npos)
      << error.what();
  EXPECT_FALSE(fs::exists(dir_ / "t"));
}

// write_all goes on after the short writes and EINTR that signals cause
// while it blocks on a full pipe.
TEST_F(FileIo, WriteAllGoesOnAfterShortWritesAndSignals) {
  struct sigaction interrupt {
  }, previous{};
  interrupt.sa_handler = [](int) {};
  sigemptyset(&interrupt.sa_mask);
  interrupt.sa_flags = 0;  // no SA_RESTART: a blocked write returns early
  ASSERT_EQ(sigaction(SIGUSR1, &interrupt, &previous), 0);
  int ends[2];
  ASSERT_EQ(pipe(ends), 0);
  UniqueFd read_end(ends[0], "pipe (read end)");
  UniqueFd write_end(ends[1], "pipe (write end)");
  std::string bytes(4 << 20, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 % 251);

  std::string failure;
  std::thread writer([&] {
    try {
      write_all(write_end, bytes);
    } catch (const Error& error) {
      failure = error.what();
    }
    write_end = UniqueFd();
  });
  // Two signals between reads: the first cuts a write short, the second
  // finds the next write blocked on the full pipe before it wrote a byte,
  // which fails it with EINTR.
  std::string received;
  char buffer[16384];
  for (;;) {
    pthread_kill(writer.native_handle(), SIGUSR1);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    pthread_kill(writer.native_handle(), SIGUSR1);
    const ssize_t n = read(read_end.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GE(n, 0) << std::strerror(errno);
    if (n == 0) break;
    received.append(buffer, static_cast<std::size_t>(n));
  }
  writer.join();
  sigaction(SIGUSR1, &previous, nullptr);
  EXPECT_EQ(failure, "");
  EXPECT_EQ(received.size(), bytes.size());
  EXPECT_TRUE(received == bytes) << "the bytes arrived changed";
}

TEST_F(FileIo, AnOwnedDescriptorIsClosedOnceByItsLastOwner) {
  UniqueFd first = open_file(dir_ / "file", O_WRONLY | O_CREAT);
  const int fd = first.get();
  ASSERT_GE(fd, 0);
  {
    UniqueFd second = std::move(first);
    EXPECT_EQ(first.get(), -1);
    EXPECT_EQ(second.get(), fd);
    EXPECT_EQ(second.path(), dir_ / "file");
    EXPECT_NE(fcntl(fd, F_GETFD), -1) << "closed while still owned";
  }
  EXPECT_EQ(fcntl(fd, F_GETFD), -1) << "left open after its owner went";
  EXPECT_EQ(errno, EBADF);
  first.close();  // owns nothing: nothing to report
}

TEST_F(FileIo, AFailedCloseIsReportedWithThePath) {
  UniqueFd fd = open_file(dir_ / "file", O_WRONLY | O_CREAT);
  const int number = fd.get();
  ASSERT_EQ(close(number), 0);  // closed behind the owner's back: its close() fails
  const Error error = error_of([&] { fd.close(); });
  EXPECT_EQ(error.sys_errno(), EBADF);
  EXPECT_NE(std::string(error.what()).find((dir_ / "file").string() + ": cannot close"), std::string::npos)
      << error.what();
  EXPECT_EQ(fd.get(), -1);
}

}  // namespace
}  // namespace cir
