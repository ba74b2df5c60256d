#include "analysis/stats.hpp"

#include <cmath>
#include <limits>

namespace cir::analysis {

namespace {

// The continued fraction of the regularised incomplete beta function
// (modified Lentz), converging for x < (a + 1) / (a + b + 2).
double beta_fraction(double a, double b, double x) {
  constexpr double tiny = 1e-300;
  constexpr double epsilon = 1e-15;
  double c = 1.0;
  double d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::abs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 1000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 + aa * d;
    if (std::abs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 + aa * d;
    if (std::abs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double step = d * c;
    h *= step;
    if (std::abs(step - 1.0) < epsilon) break;
  }
  return h;
}

// I_x(a, b).
double incomplete_beta(double a, double b, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_fraction(a, b, x) / a;
  return 1.0 - front * beta_fraction(b, a, 1.0 - x) / b;
}

}  // namespace

double student_t_cdf(double t, double df) {
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  const double tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
  return t > 0 ? 1.0 - tail : tail;
}

double student_t_quantile(double p, double df) {
  if (p == 0.5) return 0.0;
  if (p < 0.5) return -student_t_quantile(1.0 - p, df);
  double low = 0.0, high = 1.0;
  while (student_t_cdf(high, df) < p) high *= 2.0;
  for (int i = 0; i < 200 && high - low > 1e-13 * high; ++i) {
    const double mid = 0.5 * (low + high);
    (student_t_cdf(mid, df) < p ? low : high) = mid;
  }
  return 0.5 * (low + high);
}

std::optional<Interval> t_interval(const Stat& stat, double confidence) {
  if (stat.n < 2) return std::nullopt;
  const double half = student_t_quantile(1.0 - (1.0 - confidence) / 2.0, stat.n - 1) * stat.std /
                      std::sqrt(static_cast<double>(stat.n));
  return Interval{stat.mean - half, stat.mean + half};
}

std::optional<Welch> welch(const Stat& a, const Stat& b) {
  if (a.n < 2 || b.n < 2) return std::nullopt;
  const double va = a.std * a.std / a.n, vb = b.std * b.std / b.n;
  Welch w;
  w.difference = a.mean - b.mean;
  const double se = std::sqrt(va + vb);
  if (se == 0.0) {
    // No spread on either side: any difference is beyond noise.
    w.df = a.n + b.n - 2;
    w.t = w.difference == 0.0 ? 0.0 : std::copysign(std::numeric_limits<double>::infinity(), w.difference);
    w.p = w.difference == 0.0 ? 1.0 : 0.0;
    w.interval = {w.difference, w.difference};
    return w;
  }
  w.df = (va + vb) * (va + vb) / (va * va / (a.n - 1) + vb * vb / (b.n - 1));
  w.t = w.difference / se;
  w.p = 2.0 * student_t_cdf(-std::abs(w.t), w.df);
  const double half = student_t_quantile(1.0 - (1.0 - kConfidence) / 2.0, w.df) * se;
  w.interval = {w.difference - half, w.difference + half};
  return w;
}

Verdict verdict(const std::optional<Stat>& ours, const std::optional<double>& paper) {
  if (!ours || ours->n == 0 || !paper) return Verdict::none;
  const auto interval = t_interval(*ours);
  if (!interval) return Verdict::too_few_seeds;
  if (interval->contains(*paper)) return Verdict::reproduced;
  return interval->high < *paper ? Verdict::below : Verdict::above;
}

std::string to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::none:
      return "";
    case Verdict::too_few_seeds:
      return "too few seeds";
    case Verdict::reproduced:
      return "reproduced";
    case Verdict::below:
      return "below";
    case Verdict::above:
      return "above";
  }
  return "";
}

std::string to_string(VersusBaseline versus) {
  switch (versus) {
    case VersusBaseline::none:
      return "";
    case VersusBaseline::baseline:
      return "baseline";
    case VersusBaseline::same:
      return "within noise";
    case VersusBaseline::higher:
      return "higher";
    case VersusBaseline::lower:
      return "lower";
  }
  return "";
}

}  // namespace cir::analysis
