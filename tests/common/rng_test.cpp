#include "common/rng.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace cir {
namespace {

// Known answers from Random123's kat_vectors (counter, key -> output).
TEST(Philox, MatchesRandom123KnownAnswers) {
  EXPECT_EQ(philox4x32({0, 0, 0, 0}, {0, 0}),
            (PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(CounterRng, SameAddressSameNumbersWhateverTheCallOrder) {
  CounterRng a(7, purpose::augmentation, 3, 41);
  std::vector<std::uint32_t> seq;
  for (int i = 0; i < 10; ++i) seq.push_back(a.next_u32());
  const CounterRng b(7, purpose::augmentation, 3, 41);
  for (int i = 9; i >= 0; --i) EXPECT_EQ(b.bits_at(i), seq[i]);
}

TEST(CounterRng, StreamsWithDifferentAddressesDiffer) {
  const std::vector<CounterRng> streams = {
      CounterRng(0, purpose::data_order, 0, 0), CounterRng(1, purpose::data_order, 0, 0),
      CounterRng(0, purpose::augmentation, 0, 0), CounterRng(0, purpose::data_order, 1, 0),
      CounterRng(0, purpose::data_order, 0, 1)};
  std::set<std::uint32_t> firsts;
  for (const auto& s : streams) firsts.insert(s.bits_at(0));
  EXPECT_EQ(firsts.size(), streams.size());
}

TEST(CounterRng, StreamsAreUncorrelated) {
  // Neighbouring epochs of the same seed: sample correlation of 20k uniforms.
  const CounterRng x(0, purpose::augmenter_noise, 4, 0), y(0, purpose::augmenter_noise, 5, 0);
  const int n = 20000;
  double sx = 0, sy = 0, sxy = 0, sxx = 0, syy = 0;
  for (int i = 0; i < n; ++i) {
    const double u = x.uniform_at(i), v = y.uniform_at(i);
    sx += u, sy += v, sxy += u * v, sxx += u * u, syy += v * v;
  }
  const double cov = sxy / n - sx / n * sy / n;
  const double corr = cov / std::sqrt((sxx / n - sx / n * sx / n) * (syy / n - sy / n * sy / n));
  EXPECT_LT(std::abs(corr), 0.03);  // 4 standard errors at n = 20k
}

TEST(CounterRng, UniformAndNormalHaveTheRightMoments) {
  const CounterRng r(123, purpose::test);
  const int n = 100000;
  std::vector<float> u(n), z(n);
  r.fill_uniform(u);
  r.fill_normal(z);
  const double mu = std::accumulate(u.begin(), u.end(), 0.0) / n;
  EXPECT_NEAR(mu, 0.5, 0.005);
  EXPECT_GT(*std::min_element(u.begin(), u.end()), 0.0f);
  EXPECT_LT(*std::max_element(u.begin(), u.end()), 1.0f);
  double m1 = 0, m2 = 0;
  for (float v : z) m1 += v, m2 += double(v) * v;
  m1 /= n;
  m2 = m2 / n - m1 * m1;
  EXPECT_NEAR(m1, 0.0, 0.015);
  EXPECT_NEAR(m2, 1.0, 0.02);
}

TEST(CounterRng, ASliceEqualsTheSameRangeOfTheWholeStream) {
  // A rank filling rows [3, 7) of an 8 x 5 global noise tensor gets exactly
  // those elements of the global draw, whatever the offset's parity.
  const CounterRng r(5, purpose::augmenter_noise, 2, 9);
  std::vector<float> whole(40), slice(20), odd(7);
  r.fill_normal(whole, 0, 1.0f, 0.5f);
  r.fill_normal(slice, 15, 1.0f, 0.5f);
  r.fill_normal(odd, 11, 1.0f, 0.5f);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(slice[i], whole[15 + i]) << i;
  for (int i = 0; i < 7; ++i) EXPECT_EQ(odd[i], whole[11 + i]) << i;
  for (int i = 0; i < 40; ++i) EXPECT_EQ(1.0f + 0.5f * r.normal_at(i), whole[i]) << i;
}

TEST(CounterRng, PermutationIsAPermutationAndReproducible) {
  CounterRng a(3, purpose::data_order, 7), b(3, purpose::data_order, 7), c(3, purpose::data_order, 8);
  const auto p = a.permutation(1000), q = b.permutation(1000), s = c.permutation(1000);
  EXPECT_EQ(p, q);
  EXPECT_NE(p, s);
  auto sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(sorted[i], i);
}

TEST(CounterRng, NextBelowIsUnbiased) {
  CounterRng r(11, purpose::test);
  std::vector<int> counts(3, 0);
  for (int i = 0; i < 30000; ++i) ++counts[r.next_below(3)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
}

}  // namespace
}  // namespace cir
