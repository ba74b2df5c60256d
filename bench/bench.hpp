// Small helpers shared by the C++ benchmarks: wall-clock timing and medians.
#pragma once

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <vector>

namespace cir::bench {

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double median(std::vector<double> values) {
  if (values.empty()) throw std::invalid_argument("median of nothing");
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// Times `repeats` calls of f (after `warmup` untimed ones); returns seconds per call.
template <typename F>
std::vector<double> time_calls(F&& f, int repeats, int warmup = 1) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> seconds;
  for (int i = 0; i < repeats; ++i) {
    const double t0 = now_seconds();
    f();
    seconds.push_back(now_seconds() - t0);
  }
  return seconds;
}

}  // namespace cir::bench
