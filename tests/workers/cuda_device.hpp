// The CUDA variants of the collective tests (their names contain "Cuda";
// tests/workers/CMakeLists.txt runs them on 1 and 2 ranks) run the body of
// their CPU twin on this rank's GPU. Each begins with
//   if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
// (ctest reports the run as skipped from that text where there is no GPU).
#pragma once

#include <torch/torch.h>

#include "workers/comm.hpp"
#include "workers/precision.hpp"

namespace cir::workers::test {

// GPU rank mod the GPU count, as workers/trainer.cpp places the ranks of a
// node (several ranks share a GPU when there are fewer GPUs than ranks). It
// turns TF32 off (cuBLAS and cuDNN), so float32 results compare with float32
// tolerances.
inline torch::Device fp32_gpu_of(const Comm& comm) {
  apply_matmul_precision(Precision::fp32);
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(comm.rank() % torch::cuda::device_count())};
}

// Whether this single-node test run gives every rank a GPU of its own.
inline bool every_rank_has_its_own_gpu(const Comm& comm) {
  return static_cast<std::size_t>(comm.size()) <= torch::cuda::device_count();
}

}  // namespace cir::workers::test
