#include "workers/sync_bn.hpp"

#include <gtest/gtest.h>

#include "tests/workers/cuda_device.hpp"

namespace cir::workers {
namespace {

// Rows [rank·n/2, (rank+1)·n/2) of a tensor shared by both ranks.
torch::Tensor my_half(const Comm& comm, const torch::Tensor& global) {
  const std::int64_t half = global.size(0) / comm.size();
  return global.narrow(0, comm.rank() * half, half);
}

// Float64 on `device`: the native batch norm of the combined batch against
// the reducer's statistics (summed through host memory, whatever the device).
void expect_statistics_and_gradients_of_the_combined_batch(const Comm& comm, torch::Device device) {
  torch::manual_seed(5);
  const torch::Tensor inputs = (torch::randn({8, 3, 4, 4}, torch::kDouble) * 3 + 1).to(device);
  const torch::Tensor weights = torch::randn({8, 3, 4, 4}, torch::kDouble).to(device);  // a fixed linear loss

  // One process, the combined batch, local batch norm.
  model::BatchNorm2d single(3);
  single->to(device, torch::kDouble);
  torch::Tensor x1 = inputs.clone().requires_grad_(true);
  const torch::Tensor y1 = single->forward(x1);
  (y1 * weights).sum().backward();

  model::BatchNorm2d synced(3);
  synced->to(device, torch::kDouble);
  torch::Tensor x2 = my_half(comm, inputs).clone().requires_grad_(true);
  torch::Tensor y2;
  {
    SyncBatchNormScope scope(comm);
    y2 = synced->forward(x2);
    // Each rank's loss is its part of the global sum; the objective is the
    // sum over ranks, so parameter gradients are summed (not averaged).
    (y2 * my_half(comm, weights)).sum().backward();
  }
  EXPECT_FALSE(model::batch_norm_reducer()) << "the scope must restore local batch norm";
  EXPECT_EQ(y2.device(), device);
  EXPECT_TRUE(torch::allclose(y2, my_half(comm, y1), 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose(synced->running_mean, single->running_mean, 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose(synced->running_var, single->running_var, 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose(x2.grad(), my_half(comm, x1.grad()), 1e-10, 1e-12));
  for (auto [mine, reference] :
       {std::pair{synced->weight, single->weight}, std::pair{synced->bias, single->bias}}) {
    torch::Tensor g = mine.grad().clone();
    comm.all_reduce_sum_(g);
    EXPECT_TRUE(torch::allclose(g, reference.grad(), 1e-10, 1e-12));
  }
}

TEST(SyncBatchNorm, StatisticsAndGradientsAreThoseOfTheCombinedBatch) {
  expect_statistics_and_gradients_of_the_combined_batch(Comm(MPI_COMM_WORLD), torch::kCPU);
}

TEST(SyncBatchNorm, CudaStatisticsAndGradientsAreThoseOfTheCombinedBatch) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const Comm comm(MPI_COMM_WORLD);
  expect_statistics_and_gradients_of_the_combined_batch(comm, test::fp32_gpu_of(comm));
}

}  // namespace
}  // namespace cir::workers
