// cir-report as a user runs it: output, exit codes and error messages.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <fstream>

#include "analysis/figures.hpp"
#include "tests/analysis/sweeps.hpp"
#include "tests/shell.hpp"

namespace cir::analysis::testing {
namespace {

using Result = cir::testing::Shell;

// cir-report with ARGS; its stdout and stderr.
Result cir_report(const std::string& args) {
  return cir::testing::shell(std::string(CIR_REPORT) + " " + args + " 2>&1");
}

class Cli : public AnalysisTest {};

TEST_F(Cli, PrintsThePaperTableChosenFromTheSweep) {
  const fs::path store = write_store(dir_, "gamma0", gamma0_sweep());
  const Result run = cir_report(store.string() + " --no-figures");
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_NE(run.out.find("### Table 5: initial balance weight γ0 (Shoes)"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("| 1 | **54.25** ± 1.00‡ (53.63, +0.62 ✓) |"), std::string::npos) << run.out;
}

TEST_F(Cli, FormatsSelectionAndLayoutsFromTheCommandLine) {
  const fs::path store = write_store(dir_, "gamma0", gamma0_sweep());
  Result run = cir_report(store.string() + " --format csv --select last --no-paper --no-figures");
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_NE(run.out.find("γ0,group,column,ours_mean"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("1,,r10,46,1,3,,,,1,0"), std::string::npos) << run.out;
  run = cir_report(store.string() + " --format latex --table generic --no-figures");
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_NE(run.out.find("\\toprule"), std::string::npos);
  EXPECT_NE(run.out.find("loss.gamma0 & R@1"), std::string::npos) << run.out;
}

TEST_F(Cli, TheReceiptFollowsEveryTableAndPrintsAlone) {
  std::vector<Planned> trials = gamma0_sweep();
  trials[0].notes_json = R"({"hosts":["n1"]})";
  const fs::path store = write_store(dir_, "gamma0", trials, {R"({"cir_commit":"abc123","mpi":"Open MPI"})"});
  Result run = cir_report(store.string() + " --no-figures");
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_LT(run.out.find("| 1 |"), run.out.find("Receipt:")) << run.out;
  EXPECT_NE(run.out.find("- cir commit: abc123"), std::string::npos) << run.out;
  run = cir_report(store.string() + " --no-figures --format latex");
  EXPECT_NE(run.out.find("%   hosts: n1"), std::string::npos) << run.out;
  run = cir_report(store.string() + " --receipt");
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_EQ(run.out.find("| 1 |"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.rfind("Receipt:", 0), 0u) << run.out;
  EXPECT_NE(run.out.find("- spec digest: sha256:"), std::string::npos) << run.out;
}

// A sweep that data.missing_images = "skip" cut short says so under its
// table in every format (CSV: on stderr, with the footnotes) and in the HTML
// page; a complete one does not.
TEST_F(Cli, ASweepEvaluatedOnFewerQueriesThanItsProtocolSaysSoUnderTheTable) {
  const std::string line =
      "- Evaluated on 1,812 of 2,017 queries (dress), all 1,961 queries and 5,300 of 5,373 "
      "gallery images (toptee) — data.missing_images = \"skip\" dropped the rest";
  const fs::path store = write_store(dir_, "fiq", counted_fashioniq_sweep(true));
  Result run = cir_report(store.string() + " --no-figures");
  EXPECT_EQ(run.code, 0) << run.out;
  const std::size_t at = run.out.find(line);
  ASSERT_NE(at, std::string::npos) << run.out;
  EXPECT_LT(run.out.find("| ours (γ0 = 1) |"), at) << run.out;
  EXPECT_LT(at, run.out.find("Receipt:")) << run.out;
  for (const char* format : {"latex", "csv"}) {
    run = cir_report(store.string() + " --no-figures --format " + format);
    EXPECT_EQ(run.code, 0) << run.out;
    EXPECT_NE(run.out.find("Evaluated on 1,812 of 2,017 queries (dress)"), std::string::npos)
        << format << "\n"
        << run.out;
  }
  const fs::path page = dir_ / "fiq.html";
  run = cir_report(store.string() + " --no-figures --html " + page.string());
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_NE(read_text(page).find("<li>Evaluated on 1,812 of 2,017 queries (dress)"), std::string::npos);

  run = cir_report(write_store(dir_, "full", counted_fashioniq_sweep(false)).string() + " --no-figures");
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_NE(run.out.find("| ours (γ0 = 1) |"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("missing_images"), std::string::npos) << run.out;
}

TEST_F(Cli, BadOptionsAreUsageErrors) {
  const fs::path store = write_store(dir_, "gamma0", gamma0_sweep());
  Result run = cir_report(store.string() + " --format html");
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.out.find("unknown format 'html'"), std::string::npos) << run.out;
  run = cir_report(store.string() + " --select best");
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.out.find("best:r10"), std::string::npos) << run.out;
  run = cir_report(store.string() + " --table table9");
  EXPECT_EQ(run.code, 2);
  run = cir_report("");
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.out.find("store is required"), std::string::npos) << run.out;
  EXPECT_EQ(cir_report("--help").code, 0);
}

TEST_F(Cli, AMissingStoreSaysWhereStoresComeFrom) {
  const Result run = cir_report((dir_ / "nope.h5").string());
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.out.find("nope.h5: no such store"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("cir-sweep"), std::string::npos) << run.out;
  EXPECT_EQ(cir_report(dir_.string()).code, 2);
}

TEST_F(Cli, AForeignFileIsRefused) {
  const fs::path text = dir_ / "notes.h5";
  std::ofstream(text) << "not a store\n";
  Result run = cir_report(text.string());
  EXPECT_EQ(run.code, 3) << run.out;
  EXPECT_NE(run.out.find("notes.h5"), std::string::npos) << run.out;
  const fs::path other = dir_ / "other.h5";
  const hid_t file = H5Fcreate(other.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  H5Fclose(file);
  run = cir_report(other.string());
  EXPECT_EQ(run.code, 3) << run.out;
  EXPECT_NE(run.out.find("other.h5"), std::string::npos) << run.out;
}

// libhdf5 reads a damaged file out of bounds, so cir-report checks the
// store's checksum before HDF5 sees it: a changed byte is exit 3 naming the
// store, not a crash.
TEST_F(Cli, ADamagedStoreIsRefusedNotCrashedOn) {
  const fs::path store = write_store(dir_, "gamma0", gamma0_sweep());
  const auto middle = static_cast<std::streamoff>(fs::file_size(store) / 2);
  {
    std::fstream file(store, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(middle);
    const int byte = file.get();
    file.seekp(middle);
    file.put(static_cast<char>(byte ^ 0x10));
  }
  const Result run = cir_report(store.string() + " --no-figures");
  EXPECT_EQ(run.code, 3) << run.out;
  EXPECT_NE(run.out.find("gamma0.h5"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("the store is truncated or corrupt"), std::string::npos) << run.out;
}

TEST_F(Cli, AnEmptyStoreSaysSo) {
  const Result run = cir_report(write_store(dir_, "empty", std::vector<Planned>{}).string());
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.out.find("the store has no trials yet"), std::string::npos) << run.out;
}

TEST_F(Cli, ALayoutThatCannotShowTheSweepIsRefused) {
  const Result run = cir_report(write_store(dir_, "generic", generic_sweep()).string() + " --table table5");
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.out.find("table5 cannot show the swept key 'train.lr'"), std::string::npos) << run.out;
}

TEST_F(Cli, WritesFiguresNextToTheStoreOrIntoOut) {
  if (find_program("gnuplot").empty())
    GTEST_SKIP() << "gnuplot is not installed (Debian package gnuplot-nox)";
  const fs::path store = write_store(dir_, "gamma0", gamma0_sweep());
  Result run = cir_report(store.string());
  EXPECT_EQ(run.code, 0) << run.out;
  for (const char* name :
       {"gamma0-loss.svg", "gamma0-loss.png", "gamma0-recall.svg", "gamma0-vs-loss.gamma0.png"}) {
    EXPECT_TRUE(fs::exists(dir_ / name)) << name;
    EXPECT_NE(run.out.find("wrote " + (dir_ / name).string()), std::string::npos) << run.out;
  }
  run = cir_report(store.string() + " --figures svg --out " + (dir_ / "figs").string());
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_TRUE(fs::exists(dir_ / "figs" / "gamma0-loss.svg"));
  EXPECT_FALSE(fs::exists(dir_ / "figs" / "gamma0-loss.png"));
}

TEST_F(Cli, StatusShowsTheProgressOfASweep) {
  const fs::path store = write_store(dir_, "gamma0", gamma0_sweep());
  Result run = cir_report("--status " + store.string());
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_NE(run.out.find("Trials: 12 · done 10 · running 1 · pending 0 · failed 1"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("loss is nan at step 12"), std::string::npos) << run.out;
  EXPECT_FALSE(fs::exists(dir_ / "gamma0-loss.svg"));  // no figures with --status
  std::vector<Planned> finished = gamma0_sweep();
  std::erase_if(finished, [](const Planned& p) { return p.status != TrialStatus::done; });
  fs::create_directories(dir_ / "done");
  run = cir_report("--watch --interval 0.1 " + write_store(dir_ / "done", "gamma0", finished).string());
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_NE(run.out.find("finished"), std::string::npos) << run.out;
  EXPECT_EQ(cir_report("--status " + (dir_ / "nope.h5").string()).code, 2);
}

}  // namespace
}  // namespace cir::analysis::testing
