#include <gtest/gtest.h>

#include "analysis/status.hpp"
#include "tests/analysis/sweeps.hpp"

namespace cir::analysis::testing {
namespace {

class Status : public AnalysisTest {
 protected:
  SweepData load(const std::vector<Planned>& trials) {
    SweepData sweep = load_sweep(write_store(dir_, "gamma0", trials));
    sweep.source = "results/gamma0.h5";
    sweep.header.updated = 1796000000.0;  // 2026-11-30 00:53:20 UTC
    return sweep;
  }
};

TEST_F(Status, CountsEpochsEstimatesTheRestAndListsFailures) {
  const SweepData sweep = load(gamma0_sweep());
  EXPECT_TRUE(in_progress(sweep));
  const std::string text = render_status(sweep, 1796000042.0);
  // 10 done trials × 5 epochs, the failed one's 2 and the running one's 2 of
  // 5; every epoch took 10 s + 2 s; 3 epochs left on 1 running trial.
  EXPECT_NE(text.find("updated 2026-11-30 00:53:20 UTC (42 s ago)"), std::string::npos) << text;
  EXPECT_NE(text.find("Trials: 12 · done 10 · running 1 · pending 0 · failed 1 · diverged 0"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Epochs: 54 of 57 (95%) · 12.0 s per epoch · ETA 36 s with 1 trial at a time"),
            std::string::npos)
      << text;
  expect_golden("status.md", text);
}

TEST_F(Status, AFinishedSweepSaysSo) {
  std::vector<Planned> trials = gamma0_sweep();
  std::erase_if(trials, [](const Planned& p) { return p.status != TrialStatus::done; });
  const SweepData sweep = load(trials);
  EXPECT_FALSE(in_progress(sweep));
  EXPECT_NE(render_status(sweep, 1796000000.0).find("Epochs: 50 of 50 (100%) · finished"), std::string::npos);
}

TEST_F(Status, NoEtaBeforeTheFirstEpoch) {
  std::vector<Planned> trials = gamma0_sweep();
  for (Planned& p : trials) {
    p.status = TrialStatus::pending;
    p.epochs.clear();
  }
  const std::string text = render_status(load(trials), 1796003600.0);
  EXPECT_NE(text.find("Epochs: 0 of 60 (0%) · ETA unknown until the first epoch is committed"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("(1 h 0 min ago)"), std::string::npos) << text;
}

TEST_F(Status, LargeSweepsListOnlyRunningAndFailedTrials) {
  std::vector<Planned> trials;
  for (int i = 0; i < 40; ++i) {
    for (Planned p : gamma0_sweep()) {
      p.seed += 10 * i;
      trials.push_back(p);
    }
  }
  const std::string text = render_status(load(trials), 1796000000.0);
  EXPECT_NE(text.find("Running, failed and diverged trials:"), std::string::npos);
  std::size_t lines = 0;
  for (std::size_t at = text.find("| "); at != std::string::npos; at = text.find("\n| ", at + 1)) ++lines;
  EXPECT_EQ(lines, 1u + 80u);  // the header, 40 running and 40 failed
}

}  // namespace
}  // namespace cir::analysis::testing
