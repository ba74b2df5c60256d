#include "common/rng.hpp"

#include <cmath>
#include <numbers>

namespace cir {
namespace {

constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

inline void mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(p >> 32);
  lo = static_cast<std::uint32_t>(p);
}

// SplitMix64 finaliser: spreads (seed, purpose) over the 64 key bits.
inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// 32 random bits -> uniform float strictly inside (0, 1): the 24 high bits
// plus half a step, so log() below never sees 0.
inline float to_open_unit(std::uint32_t bits) {
  return (static_cast<float>(bits >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

}  // namespace

PhiloxCounter philox4x32(PhiloxCounter c, PhiloxKey k) {
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kM0, c[0], hi0, lo0);
    mulhilo(kM1, c[2], hi1, lo1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    k[0] += kW0;
    k[1] += kW1;
  }
  return c;
}

CounterRng::CounterRng(std::uint64_t seed, std::uint32_t purpose, std::uint32_t a, std::uint32_t b)
    : a_(a), b_(b) {
  const std::uint64_t k = mix64(mix64(seed) ^ purpose);
  key_ = {static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(k >> 32)};
}

PhiloxCounter CounterRng::block(std::uint64_t block) const {
  return philox4x32({static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32), a_, b_},
                    key_);
}

std::uint32_t CounterRng::bits_at(std::uint64_t index) const { return block(index / 4)[index % 4]; }

float CounterRng::uniform_at(std::uint64_t index) const { return to_open_unit(bits_at(index)); }

// Box–Muller on the pairs (bits 0, 1) and (bits 2, 3) of a block: values
// 4j, 4j+1 are the cosine and sine of the first pair, 4j+2, 4j+3 of the second.
float CounterRng::normal_at(std::uint64_t index) const {
  const PhiloxCounter bits = block(index / 4);
  const unsigned pair = (index % 4) / 2;
  const float u1 = to_open_unit(bits[2 * pair]);
  const float u2 = to_open_unit(bits[2 * pair + 1]);
  const float r = std::sqrt(-2.0f * std::log(u1));
  const float theta = 2.0f * std::numbers::pi_v<float> * u2;
  return (index % 2 == 0) ? r * std::cos(theta) : r * std::sin(theta);
}

void CounterRng::fill_uniform(std::span<float> out, std::uint64_t first_index) const {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = uniform_at(first_index + i);
}

void CounterRng::fill_normal(std::span<float> out, std::uint64_t first_index, float mean,
                             float stddev) const {
  std::size_t i = 0;
  while (i < out.size()) {
    const std::uint64_t index = first_index + i;
    if (index % 2 == 0 && i + 1 < out.size()) {
      // Both values of a Box–Muller pair from one evaluation.
      const PhiloxCounter bits = block(index / 4);
      const unsigned pair = (index % 4) / 2;
      const float u1 = to_open_unit(bits[2 * pair]);
      const float u2 = to_open_unit(bits[2 * pair + 1]);
      const float r = std::sqrt(-2.0f * std::log(u1));
      const float theta = 2.0f * std::numbers::pi_v<float> * u2;
      out[i] = mean + stddev * r * std::cos(theta);
      out[i + 1] = mean + stddev * r * std::sin(theta);
      i += 2;
    } else {
      out[i] = mean + stddev * normal_at(index);
      ++i;
    }
  }
}

std::uint32_t CounterRng::next_u32() { return bits_at(next_index_++); }

float CounterRng::next_uniform() { return to_open_unit(next_u32()); }

double CounterRng::next_double() {
  const std::uint64_t hi = next_u32() >> 5, lo = next_u32() >> 6;  // 27 + 26 bits
  return (static_cast<double>(hi) * 67108864.0 + static_cast<double>(lo)) * (1.0 / 9007199254740992.0);
}

std::uint64_t CounterRng::next_below(std::uint64_t n) {
  // Rejection on 64-bit draws: unbiased for every n.
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
  while (true) {
    const std::uint64_t x = (static_cast<std::uint64_t>(next_u32()) << 32) | next_u32();
    if (x < limit) return x % n;
  }
}

std::vector<std::int64_t> CounterRng::permutation(std::int64_t n) {
  std::vector<std::int64_t> p(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) p[i] = i;
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(next_below(static_cast<std::uint64_t>(i) + 1));
    std::swap(p[i], p[j]);
  }
  return p;
}

}  // namespace cir
