#include "workers/comm.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/mpi.hpp"
#include "tests/workers/cuda_device.hpp"
#include "workers/recall.hpp"

namespace cir::workers {
namespace {

Comm world() { return Comm(MPI_COMM_WORLD); }

// The same "global" data on every rank, from a fixed seed.
torch::Tensor global_rows(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randn({rows, cols}, torch::kDouble);
}

TEST(Comm, SumsBroadcastsAndGathersAcrossTheGroup) {
  const Comm comm = world();
  ASSERT_EQ(comm.size(), 2);
  const int r = comm.rank();

  torch::Tensor sum = torch::full({3, 2}, r + 1.0f);
  comm.all_reduce_sum_(sum);
  EXPECT_TRUE(torch::equal(sum, torch::full({3, 2}, 3.0f)));
  torch::Tensor counts = torch::arange(5, torch::kLong) * (r + 1);
  comm.all_reduce_sum_(counts);
  EXPECT_TRUE(torch::equal(counts, torch::arange(5, torch::kLong) * 3));

  torch::Tensor strided = torch::full({4, 4}, r + 1.0).t().narrow(0, 1, 2);  // not contiguous
  comm.all_reduce_sum_(strided);
  EXPECT_TRUE(torch::equal(strided, torch::full({2, 4}, 3.0, torch::kDouble)));

  torch::Tensor value = torch::full({4}, static_cast<std::int64_t>(r == 1 ? 7 : 0));
  comm.broadcast_(value, 1);
  EXPECT_TRUE(torch::equal(value, torch::full({4}, std::int64_t{7})));

  // Uneven rows: rank 0 holds 1 row, rank 1 holds 3.
  const torch::Tensor all = torch::arange(12, torch::kFloat).reshape({4, 3});
  const torch::Tensor mine = r == 0 ? all.narrow(0, 0, 1) : all.narrow(0, 1, 3);
  EXPECT_EQ(comm.row_counts(mine), (std::vector<std::int64_t>{1, 3}));
  EXPECT_TRUE(torch::equal(comm.all_gather(mine), all));
  const torch::Tensor at_leader = comm.gather(mine, 0);
  if (r == 0)
    EXPECT_TRUE(torch::equal(at_leader, all));
  else
    EXPECT_FALSE(at_leader.defined());

  // Each rank contributes (rank + 1) × all; each gets its rows of 3 × all.
  const torch::Tensor scattered = comm.reduce_scatter_rows(all * (r + 1), {1, 3});
  EXPECT_TRUE(torch::equal(scattered, (3 * all).narrow(0, r == 0 ? 0 : 1, r == 0 ? 1 : 3)));
}

// On a communicator under cir's MPI error policy (common/mpi.hpp), as the
// launcher's group communicators are, an invalid argument is a cir::Error
// naming the call, the communicator and the rank, instead of an abort.
TEST(Comm, AnMpiErrorIsACirErrorNamingTheCallTheCommunicatorAndTheRank) {
  MPI_Comm group = MPI_COMM_NULL;
  MPI_Comm_dup(MPI_COMM_WORLD, &group);
  mpi::adopt(group, "group 7");
  {
    const Comm comm(group);
    torch::Tensor t = torch::zeros({3});
    try {
      comm.broadcast_(t, 5);
      ADD_FAILURE() << "a broadcast from rank 5 of 2 ranks succeeded";
    } catch (const Error& e) {
      const std::string text = e.what();
      EXPECT_NE(text.find("failed on the communicator 'group 7' (this process is its rank " +
                          std::to_string(comm.rank()) + " of 2): MPI_ERR_ROOT"),
                std::string::npos)
          << text;
      EXPECT_TRUE(text.starts_with("MPI_Bcast") || text.starts_with("MPI_Ibcast")) << text;
      EXPECT_EQ(e.where().rank, comm.rank());
    }
    comm.all_reduce_sum_(t);  // the communicator still works
  }
  MPI_Comm_free(&group);
}

TEST(Comm, CpuTensorsGoThroughOneMpiBackendThatCopiesShare) {
  const Comm comm = world();
  CommBackend& cpu = comm.backend(torch::kCPU);
  EXPECT_EQ(cpu.name(), "mpi");
  EXPECT_TRUE(cpu.sums_call_mpi());
  EXPECT_EQ(&comm.backend(torch::kCPU), &cpu);
  const Comm copy = comm;  // copies share the backends
  EXPECT_EQ(&copy.backend(torch::kCPU), &cpu);

  // The backend alone does what the Comm does.
  ASSERT_EQ(comm.size(), 2);
  torch::Tensor sum = torch::full({3}, comm.rank() + 1.0);
  cpu.all_reduce_sum_(sum);
  EXPECT_TRUE(torch::equal(sum, torch::full({3}, 3.0, torch::kDouble)));
  const torch::Tensor mine = torch::full({comm.rank() + 1, 2}, static_cast<float>(comm.rank()));
  EXPECT_TRUE(torch::equal(cpu.all_gather(mine, {1, 2}), comm.all_gather(mine)));
}

TEST(Comm, AsyncSumEqualsTheBlockingSum) {
  const Comm comm = world();
  torch::Tensor a = global_rows(64, 33, 11 + static_cast<std::uint64_t>(comm.rank())).to(torch::kFloat);
  torch::Tensor b = a.clone();
  auto pending = comm.all_reduce_sum_async(a);
  comm.all_reduce_sum_(b);
  pending->wait();
  EXPECT_TRUE(torch::equal(a, b));
}

TEST(Comm, RefusesRowsOfDifferentShapesWithAClearError) {
  const Comm comm = world();
  const torch::Tensor mine = torch::zeros({2, comm.rank() == 0 ? 3 : 4});
  try {
    comm.all_gather(mine);
    FAIL() << "gathering rows of different shapes must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row shape"), std::string::npos) << e.what();
  }
}

TEST(Comm, RefusesToSumHalfPrecisionWithAHint) {
  const Comm comm = world();
  torch::Tensor half = torch::zeros({2}, torch::kHalf);
  try {
    comm.all_reduce_sum_(half);
    FAIL() << "summing half precision over MPI must throw";
  } catch (const Error& e) {
    EXPECT_FALSE(e.hint().empty());
  }
}

TEST(Comm, ShardedEmbeddingBringsEveryRowToTheLeaderInOrder) {
  const Comm comm = world();
  for (std::int64_t n : {1, 7, 10}) {
    std::int64_t calls = 0;
    const torch::Tensor features = embed_sharded(comm, n, 2, [&](std::int64_t begin, std::int64_t end) {
      ++calls;
      EXPECT_FALSE(torch::GradMode::is_enabled());
      return torch::arange(begin, end, torch::kFloat).unsqueeze(1).repeat({1, 3});
    });
    EXPECT_GE(calls, 1);
    if (comm.leader())
      EXPECT_TRUE(torch::equal(features, torch::arange(n, torch::kFloat).unsqueeze(1).repeat({1, 3}))) << n;
    else
      EXPECT_FALSE(features.defined());
  }
}

// Every rank learns every rank's GPU, in rank order, and so finds the same
// ranks sharing one (make_backend() then picks the same backend everywhere).
TEST(Comm, EveryRankLearnsWhichRanksShareAGpu) {
  const Comm comm = world();
  ASSERT_EQ(comm.size(), 2);
  const bool first = comm.rank() == 0;
  const std::string longest_host(MPI_MAX_PROCESSOR_NAME - 1, 'h');

  const std::vector<GpuKey> two_hosts =
      all_gpu_keys(comm.mpi(), {.host = first ? longest_host : "node-b", .bus_id = "0000:3B:00.0"});
  EXPECT_EQ(two_hosts, (std::vector<GpuKey>{{longest_host, "0000:3B:00.0"}, {"node-b", "0000:3B:00.0"}}));
  EXPECT_FALSE(ranks_sharing_a_gpu(two_hosts).has_value());

  const std::vector<GpuKey> two_gpus =
      all_gpu_keys(comm.mpi(), {.host = "node-a", .bus_id = first ? "0000:3B:00.0" : "0000:5D:00.0"});
  EXPECT_FALSE(ranks_sharing_a_gpu(two_gpus).has_value());

  const std::vector<GpuKey> one_gpu = all_gpu_keys(comm.mpi(), {.host = "node-a", .bus_id = "0000:3B:00.0"});
  EXPECT_EQ(ranks_sharing_a_gpu(one_gpu), (std::optional<std::pair<int, int>>{{0, 1}}));
}

// Through NCCL when built with it and every rank has a GPU of its own (one
// rank, or a GPU per rank), through host memory otherwise: ranks sharing a
// GPU, which NCCL refuses. Either way the results are those of host tensors.
TEST(Comm, CudaTensorsGiveTheResultsOfHostTensors) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const Comm comm = world();
  const torch::Device device = test::fp32_gpu_of(comm);
#ifdef CIR_WITH_NCCL
  EXPECT_EQ(comm.backend(device).name(), test::every_rank_has_its_own_gpu(comm) ? "nccl" : "mpi");
#else
  EXPECT_EQ(comm.backend(device).name(), "mpi");
#endif
  const int r = comm.rank(), n = comm.size();
  const auto to_device = [&](const torch::Tensor& t) {
    return t.to(device, /*non_blocking=*/false, /*copy=*/true);
  };
  const torch::Tensor host = global_rows(3, 5, 21 + static_cast<std::uint64_t>(r)).to(torch::kFloat);

  // Sums (of at most two values per element: exact in either order).
  torch::Tensor sum_host = host.clone(), sum_cuda = to_device(host);
  comm.all_reduce_sum_(sum_host);
  comm.all_reduce_sum_(sum_cuda);
  EXPECT_EQ(sum_cuda.device(), device);
  EXPECT_TRUE(torch::equal(sum_cuda.cpu(), sum_host));
  torch::Tensor async_cuda = to_device(host);
  comm.all_reduce_sum_async(async_cuda)->wait();
  EXPECT_TRUE(torch::equal(async_cuda.cpu(), sum_host));
  torch::Tensor strided = to_device(host).t().narrow(0, 1, 2);  // not contiguous
  comm.all_reduce_sum_(strided);
  EXPECT_TRUE(torch::equal(strided.cpu(), sum_host.t().narrow(0, 1, 2)));
  torch::Tensor counts = to_device(torch::arange(5, torch::kLong) * (r + 1));
  comm.all_reduce_sum_(counts);
  EXPECT_TRUE(torch::equal(counts.cpu(), torch::arange(5, torch::kLong) * (n * (n + 1) / 2)));

  // Broadcast from the last rank.
  torch::Tensor from_root = to_device(host), from_root_host = host.clone();
  comm.broadcast_(from_root, n - 1);
  comm.broadcast_(from_root_host, n - 1);
  EXPECT_TRUE(torch::equal(from_root.cpu(), from_root_host));

  // Rows: 3 on every rank (NCCL's own gather and scatter), then rank r + 1
  // on rank r (NCCL's backend stages these through host memory).
  EXPECT_TRUE(torch::equal(comm.all_gather(to_device(host)).cpu(), comm.all_gather(host)));
  const torch::Tensor full = global_rows(3 * n, 5, 31 + static_cast<std::uint64_t>(r)).to(torch::kFloat);
  const std::vector<std::int64_t> even(static_cast<std::size_t>(n), 3);
  EXPECT_TRUE(torch::equal(comm.reduce_scatter_rows(to_device(full), even).cpu(),
                           comm.reduce_scatter_rows(full, even)));
  const torch::Tensor uneven = torch::full({r + 1, 2}, static_cast<float>(r));
  const torch::Tensor uneven_host = comm.all_gather(uneven), gathered = comm.all_gather(to_device(uneven));
  EXPECT_EQ(gathered.device(), device);
  EXPECT_TRUE(torch::equal(gathered.cpu(), uneven_host));
  const torch::Tensor at_leader = comm.gather(to_device(uneven), 0);
  if (comm.leader())
    EXPECT_TRUE(torch::equal(at_leader.cpu(), uneven_host));
  else
    EXPECT_FALSE(at_leader.defined());
  std::vector<std::int64_t> rising;
  for (int k = 1; k <= n; ++k) rising.push_back(k);
  const torch::Tensor triangle = global_rows(n * (n + 1) / 2, 4, 41 + static_cast<std::uint64_t>(r));
  EXPECT_TRUE(torch::equal(comm.reduce_scatter_rows(to_device(triangle), rising).cpu(),
                           comm.reduce_scatter_rows(triangle, rising)));
}

// A loss that couples every row with every other (like InfoNCE): the
// cross-entropy of each row's similarities to all rows, matched to itself.
torch::Tensor coupled_loss(const torch::Tensor& features) {
  const torch::Tensor logits = features.matmul(features.t()) / 4.0;
  return torch::nn::functional::cross_entropy(
      logits, torch::arange(features.size(0), torch::dtype(torch::kLong).device(features.device())));
}

// Float64 on `device`, the global batch split evenly over the ranks.
void expect_gathered_rows_to_match_one_rank(const Comm& comm, torch::Device device) {
  const std::int64_t global = 6, dims = 5, rows = global / comm.size(), begin = comm.rank() * rows;
  const torch::Tensor inputs = global_rows(global, dims, 1).to(device);
  const torch::Tensor weight_init = global_rows(dims, dims, 2).to(device);

  // One rank, the whole batch.
  torch::Tensor w1 = weight_init.clone().requires_grad_(true);
  torch::Tensor x1 = inputs.clone().requires_grad_(true);
  coupled_loss(x1.matmul(w1)).backward();

  // Every rank its rows, gathered with autograd.
  torch::Tensor w2 = weight_init.clone().requires_grad_(true);
  torch::Tensor x2 = inputs.narrow(0, begin, rows).clone().requires_grad_(true);
  const torch::Tensor gathered = all_gather_rows(comm, x2.matmul(w2));
  EXPECT_EQ(gathered.device(), device);
  EXPECT_TRUE(torch::allclose(gathered, x1.matmul(w1).detach(), 1e-12, 1e-12));
  coupled_loss(gathered).backward();

  // Every gradient is N × this rank's share (see comm.hpp); averaging the
  // parameter gradient over ranks gives the 1-rank gradient.
  torch::Tensor wgrad = w2.grad().clone();
  comm.all_reduce_sum_(wgrad);
  EXPECT_TRUE(torch::allclose(wgrad / comm.size(), w1.grad(), 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose(x2.grad() / comm.size(), x1.grad().narrow(0, begin, rows), 1e-10, 1e-12));
}

TEST(AllGatherRows, ForwardAndBackwardMatchOneRankOnTheGlobalBatch) {
  expect_gathered_rows_to_match_one_rank(world(), torch::kCPU);
}

// The backward's reduce-scatter runs on autograd's CUDA device thread.
TEST(AllGatherRows, CudaForwardAndBackwardMatchOneRankOnTheGlobalBatch) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const Comm comm = world();
  expect_gathered_rows_to_match_one_rank(comm, test::fp32_gpu_of(comm));
}

TEST(AllGatherRows, UnevenShardsGetTheirOwnRowsOfTheGradient) {
  const Comm comm = world();
  const torch::Tensor inputs = global_rows(5, 3, 3);
  torch::Tensor x1 = inputs.clone().requires_grad_(true);
  coupled_loss(x1).backward();

  const std::int64_t begin = comm.rank() == 0 ? 0 : 2, rows = comm.rank() == 0 ? 2 : 3;
  torch::Tensor x2 = inputs.narrow(0, begin, rows).clone().requires_grad_(true);
  coupled_loss(all_gather_rows(comm, x2)).backward();
  EXPECT_TRUE(torch::allclose(x2.grad() / comm.size(), x1.grad().narrow(0, begin, rows), 1e-10, 1e-12));
}

TEST(AllGatherRows, WithoutGradientsItIsAPlainGather) {
  const Comm comm = world();
  const torch::Tensor mine = torch::full({2, 2}, static_cast<double>(comm.rank()));
  const torch::Tensor gathered = all_gather_rows(comm, mine);
  EXPECT_FALSE(gathered.requires_grad());
  EXPECT_TRUE(torch::equal(gathered.narrow(0, 2, 2), torch::ones({2, 2}, torch::kDouble)));
}

}  // namespace
}  // namespace cir::workers
