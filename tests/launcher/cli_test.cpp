// Hostile command lines: cir-sweep (the fake-runner build; --dry-run needs no
// MPI) refuses each with exit 2 and a message that names the argument, in
// bounded time — a grid of 10^6 trials is refused before it is built.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const fs::path kSource = CIR_SOURCE_DIR;

struct Outcome {
  int code = -1;
  std::string output;  // stdout and stderr
  double seconds = 0;
};

// Runs cir-sweep-fake with `args` (no shell: each argument as it is).
Outcome run(const std::vector<std::string>& args) {
  const fs::path out = fs::temp_directory_path() / ("cir_cli_test." + std::to_string(getpid()));
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    std::FILE* f = std::freopen(out.c_str(), "w", stdout);
    if (f == nullptr || dup2(fileno(stdout), 2) < 0) _exit(127);
    std::vector<char*> argv{const_cast<char*>(CIR_SWEEP_FAKE)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(CIR_SWEEP_FAKE, argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Outcome o;
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(out);
  std::ostringstream text;
  text << in.rdbuf();
  o.output = text.str();
  fs::remove(out);
  return o;
}

std::string spec(const std::string& name) { return (kSource / "tests/bad_specs" / name).string(); }
const std::string kGood = (kSource / "sweeps/synthetic/gamma0.toml").string();

void expect_refused(const std::vector<std::string>& args, const std::string& fragment) {
  const Outcome o = run(args);
  EXPECT_EQ(o.code, 2) << o.output;
  EXPECT_NE(o.output.find(fragment), std::string::npos) << o.output;
}

TEST(Cli, ASetArgumentWithALineBreakIsRefused) {
  expect_refused({kGood, "--dry-run", "--set", "train.epochs=2\ntrain.lr=0.5"},
                 "--set: key 'train.epochs': the argument holds a line break");
  expect_refused({kGood, "--dry-run", "--set", "sweep.name=two\r"}, "holds a line break");
}

TEST(Cli, ASetStringWithControlCharactersOrBytesThatAreNotUtf8IsRefused) {
  expect_refused({kGood, "--dry-run", "--set", "data.root=a\tb"}, "control character U+0009");
  expect_refused({kGood, "--dry-run", "--set", "sweep.name=caf\xE9"}, "not UTF-8 text");
  expect_refused({kGood, "--dry-run", "--set", "sweep.name=\x1b[2J"}, "control character U+001B");
}

TEST(Cli, IntegersBeyondTheirMaximumAreRefusedNotWrapped) {
  expect_refused({kGood, "--dry-run", "--set", "train.epochs=4294967298"}, "key 'train.epochs'");
  expect_refused({kGood, "--dry-run", "--set", "sweep.ranks_per_trial=-1"}, "key 'sweep.ranks_per_trial'");
  expect_refused({kGood, "--dry-run", "--set", "train.epochs=99999999999999999999"}, "is not a value");
}

TEST(Cli, AGridOfAMillionTrialsIsRefusedAtOnce) {
  const Outcome o = run({spec("grid_of_a_million.toml"), "--dry-run"});
  EXPECT_EQ(o.code, 2) << o.output;
  EXPECT_NE(o.output.find("the grid makes 1000000 trials"), std::string::npos) << o.output;
  EXPECT_LT(o.seconds, 1.0);
}

TEST(Cli, ArgumentsThatAreNotOptionsOrFilesAreUsageErrors) {
  expect_refused({(kSource / "tests/bad_specs/no_such_spec.toml").string(), "--dry-run"}, "cannot read");
  expect_refused({kGood, "--dry-run", "--set"}, "--set");
  expect_refused({kGood, "--count-requeue", "sometimes"}, "--count-requeue");
  expect_refused({kGood, "--dry-run", "--no-such-flag"}, "--no-such-flag");
}

}  // namespace
