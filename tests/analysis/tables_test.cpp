#include <gtest/gtest.h>

#include <cmath>

#include "analysis/paper.hpp"
#include "analysis/render.hpp"
#include "analysis/sweep_data.hpp"
#include "analysis/table.hpp"
#include "common/error.hpp"
#include "tests/analysis/sweeps.hpp"

namespace cir::analysis::testing {
namespace {

class Tables : public AnalysisTest {
 protected:
  // The sweep as written to and read back from a store, under a fixed name
  // so that golden files do not depend on the temporary folder.
  SweepData load(const std::string& name, const std::vector<Planned>& trials) {
    SweepData sweep = load_sweep(write_store(dir_, name, trials));
    sweep.source = "results/" + name + ".h5";
    return sweep;
  }

  Table build(const SweepData& sweep, TableOptions options = {}) {
    return build_table(sweep, PaperTables::builtin(), options);
  }

  static const Cell& cell(const Table& t, const std::string& key, const std::string& column_id,
                          const std::string& group = "") {
    for (const Row& r : t.rows) {
      if (r.keys.front() != key) continue;
      for (std::size_t i = 0; i < t.columns.size(); ++i) {
        if (t.columns[i].id == column_id && t.columns[i].group == group) return r.cells[i];
      }
    }
    throw std::runtime_error("no cell " + key + " / " + column_id);
  }
};

TEST_F(Tables, ChoosesThePaperLayoutFromTheSweptKeys) {
  EXPECT_EQ(choose_table(load("gamma0", gamma0_sweep())), "table5");
  EXPECT_EQ(choose_table(load("fiq", fashioniq_sweep())), "table1");
  EXPECT_EQ(choose_table(load("dropout", dropout_sweep())), "table3");
  EXPECT_EQ(choose_table(load("noise", noise_sweep())), "table4");
  EXPECT_EQ(choose_table(load("generic", generic_sweep())), "generic");
  std::vector<Planned> two = gamma0_sweep();
  std::erase_if(two, [](const Planned& p) {
    return p.params["loss.gamma0"] != 1.0 && p.params["loss.gamma0"] != "inf";
  });
  EXPECT_EQ(choose_table(load("shoes", two)), "table2_shoes");
  for (Planned& p : two) p.params["data.dataset"] = "fashion200k";
  EXPECT_EQ(choose_table(load("f200k", two)), "table2_fashion200k");
  // Synthetic twins: by their splits (FashionIQ's subsets) or their name.
  for (Planned& p : two) p.params["data.dataset"] = "synthetic";
  EXPECT_EQ(choose_table(load("synthetic_main_shoes", two)), "table2_shoes");
  EXPECT_EQ(choose_table(load("synthetic_main_fashion200k", two)), "table2_fashion200k");
  std::vector<Planned> fiq = fashioniq_sweep();
  for (Planned& p : fiq) p.params["data.dataset"] = "synthetic";
  EXPECT_EQ(choose_table(load("synthetic_main_fashioniq", fiq)), "table1");
}

TEST_F(Tables, Table5AggregatesSeedsAndComparesWithThePaper) {
  const Table t = build(load("gamma0", gamma0_sweep()));
  ASSERT_EQ(t.name, "table5");
  // γ0 = 1, best R@10 at epoch 1: R@10 = 53.25 + seed over seeds 0, 1, 2.
  const Cell& r10 = cell(t, "1", "r10");
  ASSERT_TRUE(r10.ours);
  EXPECT_DOUBLE_EQ(r10.ours->mean, 54.25);
  EXPECT_DOUBLE_EQ(r10.ours->std, 1.0);
  EXPECT_EQ(r10.ours->n, 3);
  EXPECT_DOUBLE_EQ(*r10.paper, 53.63);
  EXPECT_NEAR(*r10.difference(), 54.25 - 53.63, 1e-12);
  // The failed seed of γ0 = 0.5 is left out: seeds 0 and 1.
  const Cell& half = cell(t, "0.5", "r10");
  EXPECT_EQ(half.ours->n, 2);
  EXPECT_DOUBLE_EQ(half.ours->mean, 52.0);
  EXPECT_NEAR(half.ours->std, std::sqrt(0.5), 1e-12);
  // Rows: the paper's γ0 values and ours (0.25), in order, ∞ last.
  std::vector<std::string> keys;
  for (const Row& r : t.rows) keys.push_back(r.keys.front());
  EXPECT_EQ(keys, (std::vector<std::string>{"0.1", "0.25", "0.5", "1", "2", "3", "5", "10", "∞"}));
  EXPECT_FALSE(cell(t, "2", "r10").ours);
  EXPECT_FALSE(cell(t, "0.25", "r10").paper);
}

TEST_F(Tables, VerdictsAgainstThePaperAndTheBaselineRow) {
  const Table t = build(load("gamma0", gamma0_sweep()));
  ASSERT_TRUE(t.baseline);
  EXPECT_EQ(t.rows[*t.baseline].keys.front(), "∞");
  // γ0 = 1, R@10 53.25, 54.25, 55.25: 54.25 ± 4.3027 / √3 = [51.77, 56.73] holds the paper's 53.63.
  const Cell& r10 = cell(t, "1", "r10");
  ASSERT_TRUE(r10.interval());
  EXPECT_NEAR(r10.interval()->low, 54.25 - 4.302652729911275 / std::sqrt(3.0), 1e-9);
  EXPECT_EQ(r10.verdict, Verdict::reproduced);
  // R@50 75, 76, 77: [73.52, 78.48], below the paper's 79.84.
  EXPECT_EQ(cell(t, "1", "r50").verdict, Verdict::below);
  // Against γ0 = ∞ (50, 51): +3.75 with Welch's p = 0.018, beyond noise;
  // γ0 = 0.25 (50.75, 51.75, 52.75): +1.25, p = 0.20, within it.
  EXPECT_EQ(r10.versus, VersusBaseline::higher);
  ASSERT_TRUE(r10.versus_test);
  EXPECT_NEAR(r10.versus_test->difference, 3.75, 1e-12);
  EXPECT_LT(r10.versus_test->p, 0.05);
  EXPECT_EQ(cell(t, "0.25", "r10").versus, VersusBaseline::same);
  EXPECT_GT(cell(t, "0.25", "r10").versus_test->p, 0.05);
  EXPECT_EQ(cell(t, "∞", "r10").versus, VersusBaseline::baseline);
  EXPECT_EQ(cell(t, "2", "r10").verdict, Verdict::none);  // not run
  // One seed per method (Table 1): no interval, "too few seeds", no test.
  const Table one = build(load("fashioniq", fashioniq_sweep()));
  EXPECT_EQ(cell(one, "ours (γ0 = 1)", "dress_r10", "Dress").verdict, Verdict::too_few_seeds);
  EXPECT_EQ(cell(one, "ours (γ0 = 1)", "dress_r10", "Dress").versus, VersusBaseline::none);
  const std::string md = render_markdown(t);
  EXPECT_NE(md.find("| 1 | **54.25** ± 1.00‡ (53.63, +0.62 ✓) |"), std::string::npos) << md;
  EXPECT_NE(md.find("Marks: ✓"), std::string::npos) << md;
  EXPECT_NE(render_markdown(one).find("?)"), std::string::npos);
}

TEST_F(Tables, SelectionOptimismAgainstTheLastEpochAndTheValSplit) {
  // Table 5: the best-R@10 epoch (1) against the last evaluated one (3):
  // R@10 50 + seed + bonus against 45 + seed, R@50 75 + seed against 76 + seed.
  const Table t = build(load("gamma0", gamma0_sweep()));
  EXPECT_DOUBLE_EQ(*cell(t, "1", "r10").optimism_last, 5.0 + 3.25);
  EXPECT_DOUBLE_EQ(*cell(t, "1", "r50").optimism_last, -1.0);
  EXPECT_FALSE(cell(t, "1", "r10").optimism_other);  // one split: nothing else to select on
  EXPECT_FALSE(cell(t, "2", "r10").optimism_last);
  // With a val split whose R@10 peaks at epoch 2 while the mean over splits
  // peaks at epoch 1: test R@10 50.5 + i at epoch 1 against 48 + i at epoch 2.
  std::vector<Planned> sweep = generic_sweep();
  for (Planned& p : sweep) {
    for (EpochRecord& e : p.epochs) {
      for (RecallValue& r : e.recalls) r.value += e.epoch == 2 && r.split == "val" && r.k == 10 ? 4.0 : 0.0;
    }
  }
  const Table g = build(load("generic", sweep));
  EXPECT_DOUBLE_EQ(*cell(g, "0.01", "test_r10", "test").optimism_other, 2.5);
  EXPECT_DOUBLE_EQ(*cell(g, "0.01", "val_r10", "val").optimism_other, -1.5);
  EXPECT_DOUBLE_EQ(*cell(g, "0.01", "test_r10", "test").optimism_last, 5.5);
  const std::string md = render_markdown(g);
  EXPECT_NE(md.find("minus the value at the epoch the same rule picks on the val split alone"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("+5.50 / +2.50"), std::string::npos) << md;
  // --select last has nothing to be optimistic about: no second table.
  TableOptions last;
  last.selection = Selection::last;
  EXPECT_EQ(render_markdown(build(load("gamma0", gamma0_sweep()), last)).find("Selection optimism"),
            std::string::npos);
}

TEST_F(Tables, DiscrepancyShowsEachSwitchsEffectWithItsInterval) {
  const SweepData sweep = load("synthetic_discrepancy", discrepancy_sweep());
  EXPECT_EQ(choose_table(sweep), "discrepancy");
  const Table t = build(sweep);
  ASSERT_EQ(t.name, "discrepancy");
  std::vector<std::string> rows;
  for (const Row& r : t.rows) rows.push_back(r.keys.front());
  EXPECT_EQ(rows, (std::vector<std::string>{"all reference (the authors' code)", "loss.augmenter = paper",
                                            "loss.uncertainty = paper", "train.schedule = paper",
                                            "all paper (the paper's text)"}));
  ASSERT_EQ(t.baseline, 0u);
  EXPECT_DOUBLE_EQ(cell(t, rows[0], "r10").ours->mean, 50.0);
  // The paper's augmenter alone: 47 ± 1 against 50 ± 1: Δ −3, standard error
  // √(1/3 + 1/3), 4 df (equal spreads): −3 ± 2.7764 · 0.8165 = [−5.27, −0.73].
  const Cell& aug = cell(t, rows[1], "r10");
  ASSERT_TRUE(aug.versus_test);
  EXPECT_DOUBLE_EQ(*aug.versus_difference, -3.0);
  EXPECT_NEAR(aug.versus_test->df, 4.0, 1e-9);
  EXPECT_NEAR(aug.versus_test->interval.low, -3.0 - 2.7764451051977987 * std::sqrt(2.0 / 3.0), 1e-9);
  EXPECT_NEAR(aug.versus_test->interval.high, -3.0 + 2.7764451051977987 * std::sqrt(2.0 / 3.0), 1e-9);
  EXPECT_EQ(aug.versus, VersusBaseline::lower);
  EXPECT_EQ(cell(t, rows[2], "r10").versus, VersusBaseline::same);  // +0.5: noise
  EXPECT_EQ(cell(t, rows[3], "r10").versus, VersusBaseline::same);  // +2 with std 1 on 3 seeds: p = 0.07
  EXPECT_DOUBLE_EQ(*cell(t, rows[4], "r10").versus_difference, -0.5);
  const std::string md = render_markdown(t);
  EXPECT_NE(md.find("| loss.augmenter = paper | 47.00 ± 1.00‡ (Δ -3.00 [-5.27, -0.73])"), std::string::npos)
      << md;
  // The two-switch points are in the sweep but not in this layout.
  EXPECT_NE(md.find("Not shown in this layout"), std::string::npos) << md;
  expect_golden("discrepancy.md", md);
  expect_golden("discrepancy.tex", render_latex(t));
  // A sweep of other keys cannot be shown so.
  TableOptions options;
  options.table = "discrepancy";
  EXPECT_THROW(build(load("gamma0", gamma0_sweep()), options), Error);
}

TEST_F(Tables, FlagsThePaperAverageThatDisagreesWithItsOwnColumns) {
  const Table t = build(load("gamma0", gamma0_sweep()));
  int flagged = 0;
  for (const Row& r : t.rows) {
    for (const Cell& c : r.cells) flagged += c.flagged ? 1 : 0;
  }
  EXPECT_EQ(flagged, 1);
  const Cell& avg = cell(t, "0.5", "average");
  EXPECT_TRUE(avg.flagged);
  EXPECT_DOUBLE_EQ(*avg.paper, 65.76);
  EXPECT_NEAR(*avg.paper_reference, (51.20 + 79.12) / 2, 1e-12);
  EXPECT_NEAR(*avg.difference(), avg.ours->mean - (51.20 + 79.12) / 2, 1e-12);
  ASSERT_FALSE(t.footnotes.empty());
  EXPECT_NE(t.footnotes.front().find("prints 65.76"), std::string::npos);
}

TEST_F(Tables, OnlyTable5HasAnInconsistentPrintedAverage) {
  // Every paper row of Tables 1, 3 and 4 agrees with its recomputation.
  const PaperTables paper = PaperTables::builtin();
  for (const auto& [name, sweep] : std::vector<std::pair<std::string, std::vector<Planned>>>{
           {"table1", fashioniq_sweep()}, {"table3", dropout_sweep()}, {"table4", noise_sweep()}}) {
    TableOptions options;
    options.table = name;
    options.others = true;
    const Table t = build_table(load(name, sweep), paper, options);
    for (const Row& r : t.rows) {
      for (const Cell& c : r.cells) EXPECT_FALSE(c.flagged) << name << " " << r.keys.front();
    }
  }
}

TEST_F(Tables, MarksTheBestOfOursPerColumnIncludingTies) {
  const Table t = build(load("gamma0", gamma0_sweep()));
  EXPECT_TRUE(cell(t, "1", "r10").best);
  EXPECT_FALSE(cell(t, "0.25", "r10").best);
  // R@50 at the best-R@10 epoch is 75 + seed whatever γ0: 76 for the three
  // complete points, 75.5 where a seed is missing.
  EXPECT_TRUE(cell(t, "0.25", "r50").best);
  EXPECT_TRUE(cell(t, "1", "r50").best);
  EXPECT_FALSE(cell(t, "0.5", "r50").best);
  EXPECT_FALSE(cell(t, "∞", "r50").best);
}

TEST_F(Tables, SelectionRulePicksTheReportedEpoch) {
  const SweepData sweep = load("gamma0", gamma0_sweep());
  TableOptions options;
  options.selection = Selection::best_avg;  // epoch 2: R@10 48 + seed
  EXPECT_DOUBLE_EQ(cell(build(sweep, options), "1", "r10").ours->mean, 49.0);
  options.selection = Selection::last;  // epoch 3: R@10 45 + seed (epoch 4 has no recalls)
  EXPECT_DOUBLE_EQ(cell(build(sweep, options), "1", "r10").ours->mean, 46.0);
}

TEST_F(Tables, ReportsWhatIsMissing) {
  const Table t = build(load("gamma0", gamma0_sweep()));
  std::string all;
  for (const std::string& f : t.footnotes) all += f + "\n";
  EXPECT_NE(all.find("Not in this sweep: γ0 = 0.1; γ0 = 2; γ0 = 3; γ0 = 5; γ0 = 10."), std::string::npos)
      << all;
  EXPECT_NE(all.find("γ0 = 0.5: 2 of 3 trials counted; seed 2"), std::string::npos) << all;
  EXPECT_NE(all.find("failed after 2 epochs: loss is nan at step 12"), std::string::npos) << all;
  EXPECT_NE(all.find("γ0 = ∞: 2 of 3 trials counted; seed 2"), std::string::npos) << all;
  EXPECT_NE(all.find("running, 2 of 5 epochs done"), std::string::npos) << all;
}

// Under data.missing_images = "skip" a trial is evaluated on what its
// images allow: the table says so under it, split by split, and says
// nothing when the counts are complete or, in an older store, unknown.
TEST_F(Tables, SaysWhichSplitsASkippingSweepEvaluatedOnlyInPart) {
  const std::string cut =
      "1,812 of 2,017 queries (dress), all 1,961 queries and 5,300 of 5,373 gallery images (toptee) — "
      "data.missing_images = \"skip\" dropped the rest because their images are missing: these numbers are "
      "not on the dataset's full evaluation protocol and not comparable with the paper's.";
  Table t = build(load("fiq", counted_fashioniq_sweep(true)));
  ASSERT_FALSE(t.footnotes.empty());
  EXPECT_EQ(t.footnotes.front(), "Evaluated on " + cut);
  t = build(load("fiq", counted_fashioniq_sweep(true, false)));
  ASSERT_FALSE(t.footnotes.empty());
  EXPECT_EQ(t.footnotes.front(), "1 of the 2 trials counted here were evaluated on " + cut);
  TableOptions generic;
  generic.table = "generic";
  t = build(load("fiq", counted_fashioniq_sweep(true)), generic);
  ASSERT_FALSE(t.footnotes.empty());
  EXPECT_EQ(t.footnotes.front(), "Evaluated on " + cut);
  for (const auto& complete : {counted_fashioniq_sweep(false), fashioniq_sweep()}) {
    for (const std::string& f : build(load("fiq", complete)).footnotes)
      EXPECT_EQ(f.find("missing_images"), std::string::npos) << f;
  }
}

TEST_F(Tables, RefusesALayoutThatCannotShowASweptKey) {
  TableOptions options;
  options.table = "table5";
  try {
    build(load("generic", generic_sweep()), options);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
    EXPECT_NE(std::string(e.what()).find("table5 cannot show the swept key 'train.lr'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("--table generic"), std::string::npos);
  }
  options.table = "table9";
  EXPECT_THROW(build(load("gamma0", gamma0_sweep()), options), Error);
}

TEST_F(Tables, RefusesAStoreWithoutTrials) {
  try {
    build(load("empty", {}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the store has no trials yet"), std::string::npos);
  }
}

TEST_F(Tables, SyntheticSweepsSayThePaperColumnIsForOrientation) {
  const Table t = build(load("gamma0", gamma0_sweep("synthetic")));
  EXPECT_NE(t.title.find("synthetic data"), std::string::npos);
  bool said = false;
  for (const std::string& n : t.notes) said = said || n.find("for orientation only") != std::string::npos;
  EXPECT_TRUE(said);
}

// Golden files: the exact output of every layout and format.

TEST_F(Tables, GoldenTable5) {
  const Table t = build(load("gamma0", gamma0_sweep()));
  expect_golden("table5.md", render_markdown(t));
  expect_golden("table5.tex", render_latex(t));
  expect_golden("table5.csv", render_csv(t));
}

TEST_F(Tables, GoldenTable5WithoutThePaper) {
  TableOptions options;
  options.paper = false;
  expect_golden("table5_no_paper.md",
                render_markdown(build(load("gamma0", gamma0_sweep("synthetic")), options)));
}

TEST_F(Tables, GoldenTable1) {
  TableOptions options;
  options.others = true;
  const Table t = build(load("fashioniq", fashioniq_sweep()), options);
  expect_golden("table1.md", render_markdown(t));
  expect_golden("table1.tex", render_latex(t));
  expect_golden("table1.csv", render_csv(t));
}

TEST_F(Tables, GoldenTable2) {
  std::vector<Planned> two = gamma0_sweep();
  std::erase_if(two, [](const Planned& p) {
    return p.params["loss.gamma0"] != 1.0 && p.params["loss.gamma0"] != "inf";
  });
  expect_golden("table2_shoes.md", render_markdown(build(load("shoes", two))));
}

TEST_F(Tables, GoldenTable3) {
  const Table t = build(load("dropout", dropout_sweep()));
  expect_golden("table3.md", render_markdown(t));
  expect_golden("table3.csv", render_csv(t));
}

TEST_F(Tables, GoldenTable4) {
  const Table t = build(load("noise", noise_sweep()));
  expect_golden("table4.md", render_markdown(t));
  expect_golden("table4.tex", render_latex(t));
}

TEST_F(Tables, GoldenGeneric) {
  const Table t = build(load("generic", generic_sweep()));
  expect_golden("generic.md", render_markdown(t));
  expect_golden("generic.tex", render_latex(t));
  expect_golden("generic.csv", render_csv(t));
}

}  // namespace
}  // namespace cir::analysis::testing
