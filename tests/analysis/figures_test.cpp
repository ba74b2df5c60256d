#include <gtest/gtest.h>

#include "analysis/figures.hpp"
#include "common/error.hpp"
#include "tests/analysis/sweeps.hpp"

namespace cir::analysis::testing {
namespace {

class Figures : public AnalysisTest {
 protected:
  void SetUp() override {
    AnalysisTest::SetUp();
    if (find_program("gnuplot").empty())
      GTEST_SKIP() << "gnuplot is not installed (Debian package gnuplot-nox)";
  }

  std::vector<fs::path> draw(const std::vector<Planned>& trials, FigureOptions options = {}) {
    if (options.out_dir.empty()) options.out_dir = dir_ / "figures";
    if (options.stem.empty()) options.stem = "sweep";
    return write_figures(load_sweep(write_store(dir_, "sweep", trials)), options);
  }
};

// A PNG's signature and its IHDR size.
void expect_png(const fs::path& path, int min_width, int min_height) {
  const std::string bytes = read_text(path);
  ASSERT_GT(bytes.size(), 5000u) << path;
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path;
  const auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned char>(bytes[at]) << 24) | (static_cast<unsigned char>(bytes[at + 1]) << 16) |
           (static_cast<unsigned char>(bytes[at + 2]) << 8) | static_cast<unsigned char>(bytes[at + 3]);
  };
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  EXPECT_GE(be32(16), min_width);
  EXPECT_GE(be32(20), min_height);
}

// An SVG document with the given texts (axis labels, legend entries).
void expect_svg(const fs::path& path, const std::vector<std::string>& texts) {
  const std::string svg = read_text(path);
  ASSERT_GT(svg.size(), 5000u) << path;
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u) << path;
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  for (const std::string& t : texts)
    EXPECT_NE(svg.find(t), std::string::npos) << path << " lacks '" << t << "'";
}

TEST_F(Figures, ALargeSweepDrawsOneLinePerGridPoint) {
  // 5 γ0 values × 12 seeds = 60 trials: above 48, the lines are the grid points' means.
  std::vector<Planned> trials;
  for (double g : {0.1, 0.5, 1.0, 2.0, 5.0}) {
    for (int s = 0; s < 12; ++s) {
      trials.push_back({.params = {{"loss.gamma0", g}, {"train.epochs", 5}},
                        .swept = {"loss.gamma0"},
                        .seed = s,
                        .epochs = five_epochs({"test"}, s, bonus_of(g))});
    }
  }
  FigureOptions options;
  options.png = false;
  draw(trials, options);
  const std::string loss = read_text(dir_ / "figures" / "sweep-loss.svg");
  EXPECT_NE(loss.find("mean over seeds per grid point"), std::string::npos);
  EXPECT_NE(loss.find("γ0 = 5"), std::string::npos);  // one legend entry per point
  EXPECT_EQ(loss.find("dash: seed"), std::string::npos);
  const std::string recall = read_text(dir_ / "figures" / "sweep-recall.svg");
  EXPECT_NE(recall.find("mean over seeds per grid point"), std::string::npos);
}

TEST_F(Figures, LossRecallAndParameterFiguresAsSvgAndPng) {
  const std::vector<fs::path> files = draw(gamma0_sweep());
  const fs::path d = dir_ / "figures";
  ASSERT_EQ(files, (std::vector<fs::path>{d / "sweep-loss.svg", d / "sweep-loss.png", d / "sweep-recall.svg",
                                          d / "sweep-recall.png", d / "sweep-vs-loss.gamma0.svg",
                                          d / "sweep-vs-loss.gamma0.png"}));
  expect_svg(d / "sweep-loss.svg", {"training loss per epoch", "epoch", "training loss (total)", "γ0 = 0.25",
                                    "γ0 = 0.5", "γ0 = 1", "γ0 = ∞", "dash: seed"});
  expect_svg(d / "sweep-recall.svg",
             {"Recall@K per epoch", "R@1 (%)", "R@10 (%)", "R@50 (%)", "epoch", "γ0 = ∞"});
  expect_svg(d / "sweep-vs-loss.gamma0.svg",
             {"against γ0", "best:r10", "Recall@K (%), mean ± std over seeds", "R@10", "R@50 at γ0 = ∞"});
  expect_png(d / "sweep-loss.png", 800, 500);
  expect_png(d / "sweep-recall.png", 1200, 400);
  expect_png(d / "sweep-vs-loss.gamma0.png", 800, 500);
}

TEST_F(Figures, ALogAxisWhenTheParameterSpansADecade) {
  std::vector<Planned> trials = gamma0_sweep();
  for (Planned& p : trials) {
    if (p.params["loss.gamma0"] == 0.25) p.params["loss.gamma0"] = 10.0;
  }
  draw(trials, {.svg = true, .png = false});
  expect_svg(dir_ / "figures" / "sweep-vs-loss.gamma0.svg", {"γ0 (log scale)"});
}

TEST_F(Figures, OnlyTheFormatAskedFor) {
  const std::vector<fs::path> files = draw(gamma0_sweep(), {.svg = true, .png = false});
  EXPECT_EQ(files.size(), 3u);
  for (const fs::path& f : files) EXPECT_EQ(f.extension(), ".svg");
  EXPECT_FALSE(fs::exists(dir_ / "figures" / "sweep-loss.png"));
}

TEST_F(Figures, NoParameterFigureForSeveralSweptKeys) {
  const std::vector<fs::path> files = draw(generic_sweep(), {.svg = true, .png = false});
  EXPECT_EQ(files.size(), 2u);  // loss and recall
  expect_svg(dir_ / "figures" / "sweep-loss.svg", {"train.lr = 0.01, loss.augmenter = paper"});
}

TEST_F(Figures, AFolderThatCannotBeWrittenIsAClearErrorBeforeGnuplotRuns) {
  // No process may create files in /proc, root included.
  try {
    draw(gamma0_sweep(), {.out_dir = "/proc"});
    FAIL();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("/proc: cannot write the figures into this folder"), std::string::npos) << what;
    EXPECT_NE(what.find("--no-figures"), std::string::npos) << what;
    EXPECT_EQ(what.find("please report"), std::string::npos) << what;
  }
}

TEST_F(Figures, AMissingGnuplotIsAClearError) {
  try {
    draw(gamma0_sweep(), {.gnuplot = "no-such-gnuplot"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'no-such-gnuplot' is not installed"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("--no-figures"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cir::analysis::testing
