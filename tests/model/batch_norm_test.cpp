// Batch norm: torch's semantics locally, and with a reducer the statistics
// of the combined batch of every rank (SyncBN), forward, running statistics
// and gradients alike. A fake reducer plays a second rank by adding that
// rank's statistics [Σx | Σx² | n] to this rank's.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "model/batch_norm.hpp"

namespace cir::model {
namespace {

// The reducer input a rank holding `x` contributes (the layout batch_norm.hpp documents).
torch::Tensor rank_statistics(const torch::Tensor& x) {
  std::vector<std::int64_t> dims{0};
  for (std::int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  const double n = static_cast<double>(x.numel() / x.size(1));
  return torch::cat({x.sum(dims), (x * x).sum(dims), torch::full({1}, n, x.options())}).detach();
}

struct ReducerScope {
  explicit ReducerScope(BatchNormReducer reducer) { set_batch_norm_reducer(std::move(reducer)); }
  ~ReducerScope() { set_batch_norm_reducer({}); }
};

template <typename Norm>
void check_two_rank_equivalence(const std::vector<std::int64_t>& shape) {
  torch::manual_seed(3);
  const std::int64_t channels = shape[1];
  const torch::Tensor full = torch::randn(shape, torch::kDouble) * 2 + 0.5;
  const std::int64_t half = shape[0] / 2;
  const torch::Tensor mine = full.narrow(0, 0, half).clone().requires_grad_(true);
  const torch::Tensor theirs = full.narrow(0, half, shape[0] - half);
  const torch::Tensor upstream = torch::randn(mine.sizes(), torch::kDouble);

  Norm synced(channels);
  Norm whole(channels);
  synced->to(torch::kDouble);
  whole->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor w = torch::rand({channels}, torch::kDouble) + 0.5,
                        b = torch::randn({channels}, torch::kDouble);
    synced->weight.copy_(w);
    whole->weight.copy_(w);
    synced->bias.copy_(b);
    whole->bias.copy_(b);
  }

  int calls = 0;
  torch::Tensor out;
  {
    ReducerScope scope([&](const torch::Tensor& local) {
      ++calls;
      return local + rank_statistics(theirs);
    });
    out = synced(mine);
  }
  EXPECT_EQ(calls, 1);

  // The same rows normalised within the whole batch by torch's own kernel.
  const torch::Tensor whole_input = torch::cat({mine.detach(), theirs}).requires_grad_(true);
  const torch::Tensor expected = whole(whole_input).narrow(0, 0, half);
  EXPECT_TRUE(torch::allclose(out, expected, 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(synced->running_mean, whole->running_mean, 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(synced->running_var, whole->running_var, 1e-12, 1e-12));
  EXPECT_EQ(synced->num_batches_tracked.template item<std::int64_t>(), 1);

  // This rank's loss only: the other rank's statistics gradient is zero, so
  // the all-reduced gradient of the statistics is this rank's own.
  (out * upstream).sum().backward();
  (expected * upstream).sum().backward();
  EXPECT_TRUE(torch::allclose(mine.grad(), whole_input.grad().narrow(0, 0, half), 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(synced->weight.grad(), whole->weight.grad(), 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(synced->bias.grad(), whole->bias.grad(), 1e-10, 1e-10));
}

TEST(BatchNorm, TwoDimensionalStatisticsAreThoseOfTheCombinedBatch) {
  check_two_rank_equivalence<BatchNorm2d>({6, 3, 4, 5});
}

TEST(BatchNorm, OneDimensionalStatisticsAreThoseOfTheCombinedBatch) {
  check_two_rank_equivalence<BatchNorm1d>({8, 5});
  check_two_rank_equivalence<BatchNorm1d>({4, 3, 7});
}

TEST(BatchNorm, LocalTrainingMatchesTorch) {
  torch::manual_seed(1);
  const torch::Tensor x = torch::randn({4, 3, 5, 5});
  BatchNorm2d ours(3);
  torch::nn::BatchNorm2d theirs(3);
  const torch::Tensor a = ours(x), b = theirs(x);
  EXPECT_TRUE(torch::allclose(a, b, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(ours->running_var, theirs->running_var));
  EXPECT_EQ(ours->num_batches_tracked.item<std::int64_t>(), 1);
}

TEST(BatchNorm, EvalUsesRunningStatisticsAndNeverTheReducer) {
  BatchNorm2d norm(2);
  {
    torch::NoGradGuard no_grad;
    norm->running_mean.copy_(torch::tensor({1.0f, -1.0f}));
    norm->running_var.copy_(torch::tensor({4.0f, 0.25f}));
  }
  norm->eval();
  int calls = 0;
  ReducerScope scope([&](const torch::Tensor& t) {
    ++calls;
    return t;
  });
  const torch::Tensor x = torch::ones({1, 2, 1, 1});
  const torch::Tensor y = norm(x).flatten();
  EXPECT_EQ(calls, 0);
  EXPECT_NEAR(y[0].item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(y[1].item<double>(), 2.0 / std::sqrt(0.25 + 1e-5), 1e-4);
  EXPECT_EQ(norm->num_batches_tracked.item<std::int64_t>(), 0);
}

TEST(BatchNorm, NamesAreTorchvisionsAndDoubleKeepsTheCounterAnInteger) {
  BatchNorm1d norm(4);
  std::vector<std::string> names;
  for (const auto& p : norm->named_parameters()) names.push_back(p.key());
  for (const auto& b : norm->named_buffers()) names.push_back(b.key());
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias", "running_mean", "running_var",
                                             "num_batches_tracked"}));
  norm->to(torch::kDouble);
  EXPECT_EQ(norm->weight.scalar_type(), torch::kDouble);
  EXPECT_EQ(norm->running_var.scalar_type(), torch::kDouble);
  EXPECT_EQ(norm->num_batches_tracked.scalar_type(), torch::kLong);
}

TEST(BatchNorm, WrongInputShapeSaysWhatIsExpected) {
  BatchNorm2d norm(3);
  try {
    norm(torch::zeros({2, 4, 1, 1}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("3 channels"), std::string::npos) << e.what();
  }
  BatchNorm1d one(3);
  EXPECT_THROW(one(torch::zeros({2, 3, 1, 1})), Error);
}

}  // namespace
}  // namespace cir::model
