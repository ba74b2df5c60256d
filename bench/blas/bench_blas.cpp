// Prints the median GFLOP/s of a 2048² float32 matrix product in LibTorch.
#include <torch/torch.h>

#include <cstdio>

#include "bench/bench.hpp"

int main() {
  const auto a = torch::rand({2048, 2048}), b = torch::rand({2048, 2048});
  const auto seconds = cir::bench::time_calls([&] { (void)torch::mm(a, b); }, 7);
  std::printf("%.1f\n", 2.0 * 2048.0 * 2048.0 * 2048.0 / cir::bench::median(seconds) / 1e9);
}
