// A counter-based random generator (Philox4x32-10, Salmon et al. 2011).
//
// Every draw is a pure function of its address: (seed, purpose, a, b, index).
// Nothing depends on call order, so a resumed run, a run with more loader
// threads, or a rank that draws only its slice of a global batch gets the
// very same numbers. The main addresses (docs/determinism.md "Keyed random streams" lists all):
//   data order of an epoch          (seed, purpose::data_order, epoch, 0)
//   augmentation of an image        (seed, purpose::augmentation, epoch, 2 x triplet + 0 or 1)
//   augmenter noise of a step       (seed, purpose::augmenter_noise, epoch, step)
// and the index runs over the values of that stream. A LibTorch sampler (the
// augmenter noise) is seeded with two values of its stream instead.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace cir {

// The independent streams cir draws from. A new use gets a new number.
namespace purpose {
inline constexpr std::uint32_t data_order = 1;
inline constexpr std::uint32_t augmentation = 2;
inline constexpr std::uint32_t augmenter_noise = 3;
inline constexpr std::uint32_t dropout = 4;
inline constexpr std::uint32_t weight_init = 5;
inline constexpr std::uint32_t synthetic_data = 6;
inline constexpr std::uint32_t training_pairs = 7;
inline constexpr std::uint32_t test = 0xffffffffu;
}  // namespace purpose

using PhiloxCounter = std::array<std::uint32_t, 4>;
using PhiloxKey = std::array<std::uint32_t, 2>;

// The raw Philox4x32-10 bijection.
PhiloxCounter philox4x32(PhiloxCounter counter, PhiloxKey key);

// One stream of random numbers, addressed by (seed, purpose, a, b).
// Values are addressed by a 64-bit index; the sequential calls (next_*)
// walk the index from 0.
class CounterRng {
 public:
  CounterRng(std::uint64_t seed, std::uint32_t purpose, std::uint32_t a = 0, std::uint32_t b = 0);

  // The 128 random bits of block `block` of this stream.
  PhiloxCounter block(std::uint64_t block) const;

  // Value `index` of the stream as 32 random bits / a uniform float in
  // (0, 1) / a standard normal float. Each kind of value is its own
  // sequence over the same blocks, so normal_at(i) and uniform_at(i) are
  // not independent of each other: use one kind per stream.
  std::uint32_t bits_at(std::uint64_t index) const;
  float uniform_at(std::uint64_t index) const;
  float normal_at(std::uint64_t index) const;

  // Fill `out` with values first_index, first_index + 1, ... of the stream.
  void fill_uniform(std::span<float> out, std::uint64_t first_index = 0) const;
  void fill_normal(std::span<float> out, std::uint64_t first_index = 0, float mean = 0.0f,
                   float stddev = 1.0f) const;

  // Sequential draws, starting at index 0 of the stream.
  std::uint32_t next_u32();
  float next_uniform();  // in (0, 1)
  double next_double();  // in [0, 1), 53 bits
  // Uniform integer in [0, n), unbiased. n > 0.
  std::uint64_t next_below(std::uint64_t n);

  // A uniformly random permutation of 0 … n-1 (Fisher–Yates).
  std::vector<std::int64_t> permutation(std::int64_t n);

 private:
  PhiloxKey key_;
  std::uint32_t a_, b_;
  std::uint64_t next_index_ = 0;
};

}  // namespace cir
