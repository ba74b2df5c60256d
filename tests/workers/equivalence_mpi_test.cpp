// The contract of docs/determinism.md "N ranks equal one rank" at small scale:
// training on 2 ranks at global batch B (features gathered with autograd,
// synchronised batch norm, bucketed gradient averaging) follows the same
// trajectory as training on 1 rank at B, on the CPU and on the GPU.
#include <gtest/gtest.h>

#include "model/batch_norm.hpp"
#include "tests/workers/cuda_device.hpp"
#include "workers/comm.hpp"
#include "workers/gradient_sync.hpp"
#include "workers/sync_bn.hpp"

namespace cir::workers {
namespace {

struct Encoder : torch::nn::Module {
  Encoder() {
    torch::manual_seed(3);
    fc1 = register_module("fc1", torch::nn::Linear(6, 16));
    bn = register_module("bn", model::BatchNorm1d(16));
    fc2 = register_module("fc2", torch::nn::Linear(16, 8));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return fc2->forward(torch::relu(bn->forward(fc1->forward(x))));
  }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  model::BatchNorm1d bn{nullptr};
};

// InfoNCE between two views of the global batch: every row against every row.
torch::Tensor info_nce(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor logits =
      torch::nn::functional::normalize(a).matmul(torch::nn::functional::normalize(b).t()) / 0.1;
  return torch::nn::functional::cross_entropy(
      logits, torch::arange(a.size(0), torch::dtype(torch::kLong).device(a.device())));
}

// The same on every rank and device: drawn on the CPU, then moved.
torch::Tensor batch(int step, int view, torch::Device device) {
  torch::manual_seed(100 + 2 * static_cast<std::uint64_t>(step) + static_cast<std::uint64_t>(view));
  return torch::randn({8, 6}).to(device);
}

// How close the N-rank run stays to the 1-rank run: the loss of every step,
// then the parameters and floating-point buffers after the last.
struct Tolerance {
  double loss, rtol, atol;
};

void expect_two_ranks_train_like_one(const Comm& comm, torch::Device device, Tolerance tolerance) {
  const int steps = 3;
  const auto options = torch::optim::SGDOptions(0.5).momentum(0.9).weight_decay(1e-4);

  Encoder single;
  single.to(device);
  torch::optim::SGD single_opt(single.parameters(), options);
  std::vector<double> single_losses;
  for (int step = 0; step < steps; ++step) {
    single_opt.zero_grad();
    // Views in a fixed order: running statistics depend on it.
    const torch::Tensor a = single.forward(batch(step, 0, device));
    const torch::Tensor b = single.forward(batch(step, 1, device));
    const torch::Tensor loss = info_nce(a, b);
    loss.backward();
    single_opt.step();
    single_losses.push_back(loss.item<double>());
  }

  Encoder model;
  model.to(device);
  torch::optim::SGD opt(model.parameters(), options);
  GradientSync sync(comm, model.parameters(), 512);
  SyncBatchNormScope scope(comm);
  const std::int64_t half = 8 / comm.size(), begin = comm.rank() * half;
  for (int step = 0; step < steps; ++step) {
    opt.zero_grad();
    const torch::Tensor a =
        all_gather_rows(comm, model.forward(batch(step, 0, device).narrow(0, begin, half)));
    const torch::Tensor b =
        all_gather_rows(comm, model.forward(batch(step, 1, device).narrow(0, begin, half)));
    const torch::Tensor loss = info_nce(a, b);
    loss.backward();
    sync.complete();
    opt.step();
    EXPECT_NEAR(loss.item<double>(), single_losses[static_cast<std::size_t>(step)], tolerance.loss)
        << "step " << step;
  }
  const auto mine = model.named_parameters(), reference = single.named_parameters();
  for (const auto& item : reference) {
    EXPECT_EQ(mine[item.key()].device(), device) << item.key();
    EXPECT_TRUE(torch::allclose(mine[item.key()], item.value(), tolerance.rtol, tolerance.atol))
        << item.key();
  }
  const auto my_buffers = model.named_buffers(), reference_buffers = single.named_buffers();
  for (const auto& item : reference_buffers) {
    if (item.value().is_floating_point())
      EXPECT_TRUE(torch::allclose(my_buffers[item.key()], item.value(), tolerance.rtol, tolerance.atol))
          << item.key();
    else
      EXPECT_TRUE(torch::equal(my_buffers[item.key()], item.value())) << item.key();
  }
}

TEST(Equivalence, TwoRanksTrainLikeOneRankOnTheGlobalBatch) {
  expect_two_ranks_train_like_one(Comm(MPI_COMM_WORLD), torch::kCPU,
                                  {.loss = 1e-5, .rtol = 1e-4, .atol = 1e-5});
}

// On the GPU the gathers and the gradient average go through NCCL (a GPU
// per rank) or host memory (ranks sharing a GPU), the batch-norm statistics
// through host memory. cuBLAS may pick other kernels for 4 rows than for 8,
// so float32 rounding differs more between the runs than on the CPU.
TEST(Equivalence, CudaTwoRanksTrainLikeOneRankOnTheGlobalBatch) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const Comm comm(MPI_COMM_WORLD);
  expect_two_ranks_train_like_one(comm, test::fp32_gpu_of(comm), {.loss = 1e-4, .rtol = 1e-3, .atol = 1e-4});
}

}  // namespace
}  // namespace cir::workers
