// The interval arithmetic behind the verdicts, against a hand computation
// and against scipy.stats where Debian's python3-scipy is installed.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "analysis/stats.hpp"
#include "tests/shell.hpp"

namespace cir::analysis {
namespace {

TEST(Stats, TIntervalOfThreeSeedsByHand) {
  // 50, 52, 54: mean 52, sample std 2; t(0.975, 2 df) = 4.302652729911275
  // (any printed t table: 4.303), so 52 ± 4.3027 · 2 / √3 = 52 ± 4.9683.
  const Stat s = aggregate({50.0, 52.0, 54.0});
  ASSERT_EQ(s.n, 3);
  EXPECT_DOUBLE_EQ(s.mean, 52.0);
  EXPECT_DOUBLE_EQ(s.std, 2.0);
  const auto i = t_interval(s);
  ASSERT_TRUE(i);
  EXPECT_NEAR(i->low, 52.0 - 4.302652729911275 * 2.0 / std::sqrt(3.0), 1e-9);
  EXPECT_NEAR(i->high, 56.96827542368751, 1e-9);
  EXPECT_FALSE(t_interval(aggregate({50.0})));
  EXPECT_FALSE(t_interval(Stat{}));
}

TEST(Stats, StudentQuantilesMatchPrintedTables) {
  // Two-sided 95% critical values of a t table, 1, 2, 3, 4, 9, 29 df.
  const std::vector<std::pair<double, double>> table = {{1, 12.706204736432095}, {2, 4.302652729911275},
                                                        {3, 3.182446305284263},  {4, 2.7764451051977987},
                                                        {9, 2.2621571627409915}, {29, 2.045229642132703}};
  for (const auto& [df, t] : table) {
    EXPECT_NEAR(student_t_quantile(0.975, df), t, 1e-9 * t) << df << " df";
    EXPECT_NEAR(student_t_cdf(t, df), 0.975, 1e-10) << df << " df";
    EXPECT_NEAR(student_t_quantile(0.025, df), -t, 1e-9 * t) << df << " df";
  }
  EXPECT_DOUBLE_EQ(student_t_cdf(0.0, 3.0), 0.5);
}

TEST(Stats, WelchTestByHand) {
  // {50, 52, 54} against {45, 46}: difference 6.5, standard error
  // √(4/3 + 0.5/2) = 1.2583, t = 5.1657; Welch–Satterthwaite df =
  // 1.5833² / ((4/3)²/2 + (1/4)²/1) = 2.6350; two-sided p = 0.01924.
  const auto w = welch(aggregate({50.0, 52.0, 54.0}), aggregate({45.0, 46.0}));
  ASSERT_TRUE(w);
  EXPECT_DOUBLE_EQ(w->difference, 6.5);
  EXPECT_NEAR(w->t, 6.5 / std::sqrt(4.0 / 3.0 + 0.25), 1e-12);
  EXPECT_NEAR(w->df, (19.0 / 12.0) * (19.0 / 12.0) / ((16.0 / 9.0) / 2.0 + 1.0 / 16.0), 1e-12);
  EXPECT_NEAR(w->p, 0.019235143306535373, 1e-9);
  EXPECT_TRUE(w->significant());
  EXPECT_LT(w->interval.low, 6.5);
  EXPECT_GT(w->interval.low, 0.0);  // significant at 5%: the interval excludes 0
  EXPECT_FALSE(welch(aggregate({50.0}), aggregate({45.0, 46.0})));
  const auto flat = welch(aggregate({50.0, 50.0}), aggregate({50.0, 50.0}));
  ASSERT_TRUE(flat);
  EXPECT_FALSE(flat->significant());
  EXPECT_TRUE(welch(aggregate({51.0, 51.0}), aggregate({50.0, 50.0}))->significant());
}

TEST(Stats, EveryVerdictClass) {
  const Stat three = aggregate({50.0, 52.0, 54.0});  // interval [47.03, 56.97]
  EXPECT_EQ(verdict(three, 47.1), Verdict::reproduced);
  EXPECT_EQ(verdict(three, 56.9), Verdict::reproduced);
  EXPECT_EQ(verdict(three, 57.0), Verdict::below);
  EXPECT_EQ(verdict(three, 47.0), Verdict::above);
  EXPECT_EQ(verdict(aggregate({52.0}), 52.0), Verdict::too_few_seeds);
  EXPECT_EQ(verdict(std::nullopt, 52.0), Verdict::none);
  EXPECT_EQ(verdict(three, std::nullopt), Verdict::none);
  EXPECT_EQ(to_string(Verdict::too_few_seeds), "too few seeds");
  EXPECT_EQ(to_string(Verdict::reproduced), "reproduced");
}

// scipy's numbers for the same computations, when Debian's python3-scipy is there.
std::string scipy(const std::string& program) {
  const cir::testing::Shell run = cir::testing::shell("/usr/bin/python3 -c '" + program + "' 2>/dev/null");
  return run.code == 0 ? run.out : "";
}

TEST(Stats, AgreesWithScipy) {
  const std::string out = scipy(
      "from scipy import stats\n"
      "for df in (1, 2, 2.635, 5, 17.5, 100): print(df, repr(stats.t.ppf(0.975, df)), "
      "repr(stats.t.cdf(-1.7, df)))\n"
      "a, b = [61.2, 58.9, 63.4, 60.0], [55.1, 57.3, 54.8]\n"
      "r = stats.ttest_ind(a, b, equal_var=False)\n"
      "i = stats.t.interval(0.95, len(a) - 1, loc=stats.tmean(a), scale=stats.sem(a))\n"
      "print(repr(r.statistic), repr(r.pvalue), repr(i[0]), repr(i[1]))\n");
  if (out.empty()) GTEST_SKIP() << "python3-scipy is not installed (scripts/install-deps.sh installs it)";
  std::istringstream in(out);
  for (int i = 0; i < 6; ++i) {
    double df = 0, quantile = 0, cdf = 0;
    in >> df >> quantile >> cdf;
    EXPECT_NEAR(student_t_quantile(0.975, df), quantile, 1e-9 * quantile) << df << " df";
    EXPECT_NEAR(student_t_cdf(-1.7, df), cdf, 1e-10) << df << " df";
  }
  double t = 0, p = 0, low = 0, high = 0;
  in >> t >> p >> low >> high;
  ASSERT_TRUE(in) << out;
  const Stat a = aggregate({61.2, 58.9, 63.4, 60.0});
  const auto w = welch(a, aggregate({55.1, 57.3, 54.8}));
  ASSERT_TRUE(w);
  EXPECT_NEAR(w->t, t, 1e-9);
  EXPECT_NEAR(w->p, p, 1e-9);
  const auto i = t_interval(a);
  ASSERT_TRUE(i);
  EXPECT_NEAR(i->low, low, 1e-9);
  EXPECT_NEAR(i->high, high, 1e-9);
}

}  // namespace
}  // namespace cir::analysis
