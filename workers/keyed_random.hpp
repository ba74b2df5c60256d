// Torch generators whose seeds are addressed by counters (common/rng.hpp),
// so a draw depends on what it is for, never on call order: the augmenter
// noise of a step is keyed by (seed, epoch, step) and is the same on every
// rank of a group and after a resume; dropout masks by (seed, epoch, step,
// rank).
#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>

namespace cir::workers {

// A 64-bit seed drawn from stream (seed, purpose, a, b) at value `index`.
std::uint64_t keyed_seed(std::uint64_t seed, std::uint32_t purpose, std::uint32_t a, std::uint32_t b,
                         std::uint64_t index = 0);

// A CPU generator seeded with keyed_seed(seed, purpose, a, b, index).
at::Generator keyed_generator(std::uint64_t seed, std::uint32_t purpose, std::uint32_t a, std::uint32_t b,
                              std::uint64_t index = 0);

}  // namespace cir::workers
