#include "workers/gradient_sync.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "tests/workers/cuda_device.hpp"

namespace cir::workers {
namespace {

// A small MLP with parameters of several sizes; the same initial weights on
// every rank, on `device`.
struct Net : torch::nn::Module {
  explicit Net(torch::Device device = torch::kCPU) {
    torch::manual_seed(42);
    for (int i = 0; i < 5; ++i)
      layers.push_back(register_module("fc" + std::to_string(i), torch::nn::Linear(16, 16)));
    head = register_module("head", torch::nn::Linear(16, 3));
    unused = register_parameter("unused", torch::ones({4}));
    to(device);
  }
  torch::Tensor forward(torch::Tensor x) {
    for (auto& layer : layers) x = torch::tanh(layer->forward(x));
    return head->forward(x);
  }
  std::vector<torch::nn::Linear> layers;
  torch::nn::Linear head{nullptr};
  torch::Tensor unused;
};

// Data that differs between ranks and steps, on the net's device.
torch::Tensor batch_for(const Net& net, int rank, int step) {
  torch::manual_seed(1000 + 10 * static_cast<std::uint64_t>(step) + static_cast<std::uint64_t>(rank));
  return torch::randn({8, 16}).to(net.head->weight.device());
}

// The reference: backward, then a plain blocking all-reduce of every .grad.
std::vector<torch::Tensor> plain_gradients(const Comm& comm, Net& net, int step, bool average) {
  net.zero_grad();
  net.forward(batch_for(net, comm.rank(), step)).pow(2).mean().backward();
  std::vector<torch::Tensor> grads;
  for (auto& p : net.parameters()) {
    torch::Tensor g = p.grad().defined() ? p.grad().clone() : torch::zeros_like(p);
    comm.all_reduce_sum_(g);
    if (average) g.div_(comm.size());
    grads.push_back(g);
  }
  return grads;
}

void expect_gradients_equal(Net& net, const std::vector<torch::Tensor>& expected, const std::string& what) {
  const auto params = net.parameters();
  ASSERT_EQ(params.size(), expected.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    ASSERT_TRUE(params[i].grad().defined()) << what << " parameter " << i;
    EXPECT_EQ(params[i].grad().device(), params[i].device()) << what << " parameter " << i;
    EXPECT_TRUE(torch::equal(params[i].grad(), expected[i])) << what << " parameter " << i;
  }
}

// The buckets of a model on `device`: over host memory for the CPU, over
// device memory for a GPU (summed by NCCL or through host memory).
void expect_a_plain_all_reduce_bit_for_bit(const Comm& comm, torch::Device device) {
  for (std::size_t bucket_bytes : {std::size_t{1}, std::size_t{2000}, kDefaultBucketBytes}) {
    for (bool average : {true, false}) {
      Net reference(device), net(device);
      GradientSync sync(comm, net.parameters(), bucket_bytes, average);
      for (int step = 0; step < 3; ++step) {
        const auto expected = plain_gradients(comm, reference, step, average);
        net.zero_grad();
        net.forward(batch_for(net, comm.rank(), step)).pow(2).mean().backward();
        sync.complete();
        expect_gradients_equal(net, expected,
                               fmt::format("bucket {} average {} step {}", bucket_bytes, average, step));
      }
    }
  }
}

TEST(GradientSync, EqualsAPlainAllReduceBitForBitAtEveryBucketSize) {
  expect_a_plain_all_reduce_bit_for_bit(Comm(MPI_COMM_WORLD), torch::kCPU);
}

// On 2 ranks a sum has one rounding in either order, so NCCL and MPI agree
// bit for bit too.
TEST(GradientSync, CudaEqualsAPlainAllReduceBitForBitAtEveryBucketSize) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const Comm comm(MPI_COMM_WORLD);
  if (comm.size() == 1) GTEST_SKIP() << "one rank: GradientSync has nothing to sum";
  expect_a_plain_all_reduce_bit_for_bit(comm, test::fp32_gpu_of(comm));
}

void expect_accumulation_onto_existing_gradients(const Comm& comm, torch::Device device) {
  Net reference(device), net(device);
  GradientSync sync(comm, net.parameters(), 4096);
  // A gradient left over from before (not zeroed): the sum is reduced.
  for (Net* n : {&reference, &net})
    for (auto& p : n->parameters()) p.mutable_grad() = torch::full_like(p, 0.5 + comm.rank());
  reference.forward(batch_for(reference, comm.rank(), 0)).pow(2).mean().backward();
  std::vector<torch::Tensor> expected;
  for (auto& p : reference.parameters()) {
    torch::Tensor g = p.grad().clone();
    comm.all_reduce_sum_(g);
    expected.push_back(g.div_(comm.size()));
  }
  net.forward(batch_for(net, comm.rank(), 0)).pow(2).mean().backward();
  sync.complete();
  expect_gradients_equal(net, expected, "accumulated");
}

TEST(GradientSync, AccumulatesOntoExistingGradientsLikeAutograd) {
  expect_accumulation_onto_existing_gradients(Comm(MPI_COMM_WORLD), torch::kCPU);
}

TEST(GradientSync, CudaAccumulatesOntoExistingGradientsLikeAutograd) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const Comm comm(MPI_COMM_WORLD);
  if (comm.size() == 1) GTEST_SKIP() << "one rank: GradientSync has nothing to sum";
  expect_accumulation_onto_existing_gradients(comm, test::fp32_gpu_of(comm));
}

void expect_buckets_started_during_backward(const Comm& comm, torch::Device device) {
  Net net(device);
  const std::size_t n_params = net.parameters().size();
  GradientSync sync(comm, net.parameters(), 2000);
  ASSERT_GT(sync.bucket_count(), 3u);
  net.forward(batch_for(net, comm.rank(), 0)).sum().backward();
  sync.complete();
  const auto& points = sync.launch_points();
  ASSERT_EQ(points.size(), sync.bucket_count());
  // All but the bucket holding the unused parameter are started by hooks,
  // the first long before backward has produced every gradient.
  EXPECT_LT(points.front(), n_params / 2);
  EXPECT_LT(points[points.size() - 2], n_params);
}

TEST(GradientSync, StartsBucketsDuringBackward) {
  expect_buckets_started_during_backward(Comm(MPI_COMM_WORLD), torch::kCPU);
}

// From autograd's CUDA device thread, which then calls NCCL or MPI.
TEST(GradientSync, CudaStartsBucketsDuringBackward) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const Comm comm(MPI_COMM_WORLD);
  if (comm.size() == 1) GTEST_SKIP() << "one rank: GradientSync has nothing to sum";
  expect_buckets_started_during_backward(comm, test::fp32_gpu_of(comm));
}

TEST(GradientSync, RefusesASecondBackwardBeforeComplete) {
  const Comm comm(MPI_COMM_WORLD);
  Net net;
  GradientSync sync(comm, net.parameters(), 2000);
  net.forward(batch_for(net, comm.rank(), 0)).sum().backward();
  try {
    net.forward(batch_for(net, comm.rank(), 1)).sum().backward();
    FAIL() << "a second backward before complete() must throw";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("complete()"), std::string::npos) << e.what();
  }
}

TEST(GradientSync, RefusesNonLeafParameters) {
  const Comm comm(MPI_COMM_WORLD);
  torch::Tensor leaf = torch::ones({3}, torch::requires_grad());
  EXPECT_THROW(GradientSync(comm, {leaf * 2}), Error);
}

}  // namespace
}  // namespace cir::workers
