// The statistics behind cir-report's verdicts (docs/verdicts.md): a
// t-interval of a cell's mean over seeds, its verdict against the paper's
// number, and Welch's t-test between two cells. Exact to about 1e-10 (the
// Student t distribution through the regularised incomplete beta function).
#pragma once

#include <optional>
#include <string>

#include "analysis/sweep_data.hpp"

namespace cir::analysis {

inline constexpr double kConfidence = 0.95;

struct Interval {
  double low = 0.0, high = 0.0;
  bool contains(double v) const { return low <= v && v <= high; }
};

// P(T <= t) for Student's t with `df` > 0 degrees of freedom.
double student_t_cdf(double t, double df);
// The t with P(T <= t) = p, for 0 < p < 1.
double student_t_quantile(double p, double df);

// mean ± t(1 − (1 − confidence)/2, n − 1) · std / √n; nothing below 2 seeds.
std::optional<Interval> t_interval(const Stat& stat, double confidence = kConfidence);

// Welch's two-sample t-test of a.mean − b.mean (unequal variances); nothing
// unless both have 2 seeds or more.
struct Welch {
  double difference = 0.0;  // a.mean − b.mean
  double t = 0.0, df = 0.0;
  double p = 1.0;       // two-sided
  Interval interval{};  // of the difference, at kConfidence
  bool significant() const { return p < 1.0 - kConfidence; }
};
std::optional<Welch> welch(const Stat& a, const Stat& b);

// Ours against the paper's number.
enum class Verdict {
  none,           // no value of ours or no paper value
  too_few_seeds,  // one seed: no interval
  reproduced,     // the paper's value lies inside our interval
  below,          // our interval lies below the paper's value
  above,          // … above it
};
Verdict verdict(const std::optional<Stat>& ours, const std::optional<double>& paper);
// "reproduced", "below", "above", "too few seeds", "".
std::string to_string(Verdict verdict);

// A cell against the same column of its table's baseline row.
enum class VersusBaseline {
  none,      // no baseline, or too few seeds on either side for the test
  baseline,  // the cell is in the baseline row
  same,      // the difference is within seed noise (p >= 0.05)
  higher,    // significantly higher (p < 0.05)
  lower,     // significantly lower
};
std::string to_string(VersusBaseline versus);

}  // namespace cir::analysis
