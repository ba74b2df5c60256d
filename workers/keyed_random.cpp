#include "workers/keyed_random.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include "common/rng.hpp"

namespace cir::workers {

std::uint64_t keyed_seed(std::uint64_t seed, std::uint32_t purpose, std::uint32_t a, std::uint32_t b,
                         std::uint64_t index) {
  const CounterRng rng(seed, purpose, a, b);
  return (static_cast<std::uint64_t>(rng.bits_at(2 * index)) << 32) | rng.bits_at(2 * index + 1);
}

at::Generator keyed_generator(std::uint64_t seed, std::uint32_t purpose, std::uint32_t a, std::uint32_t b,
                              std::uint64_t index) {
  return at::make_generator<at::CPUGeneratorImpl>(keyed_seed(seed, purpose, a, b, index));
}

}  // namespace cir::workers
