// Batch norm: torch's semantics locally, and with a reducer the statistics
// of the combined batch of every rank (SyncBN), forward, running statistics
// and gradients alike. A fake reducer plays a second rank by adding that
// rank's statistics [Σx | Σx² | n] to this rank's in forward, and that
// rank's gradient sums [Σg | Σg·x̂] in backward.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "model/batch_norm.hpp"

namespace cir::model {
namespace {

std::vector<std::int64_t> reduced_dims(const torch::Tensor& x) {
  std::vector<std::int64_t> dims{0};
  for (std::int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

// The forward reducer input of a rank holding `x` (the layout batch_norm.hpp documents).
torch::Tensor rank_statistics(const torch::Tensor& x) {
  const double n = static_cast<double>(x.numel() / x.size(1));
  return torch::cat({x.sum(reduced_dims(x)), (x * x).sum(reduced_dims(x)), torch::full({1}, n, x.options())})
      .detach();
}

std::vector<std::int64_t> channel_shape(const torch::Tensor& x) {
  std::vector<std::int64_t> shape(x.dim(), 1);
  shape[1] = x.size(1);
  return shape;
}

// The backward reducer input of a rank whose rows `x` get the output
// gradient `g`, normalised with the combined batch's `mean` and `var`.
torch::Tensor rank_gradient_sums(const torch::Tensor& x, const torch::Tensor& g, const torch::Tensor& mean,
                                 const torch::Tensor& var) {
  const torch::Tensor xhat =
      (x - mean.view(channel_shape(x))) * torch::rsqrt(var.view(channel_shape(x)) + 1e-5);
  return torch::cat({g.sum(reduced_dims(x)), (g * xhat).sum(reduced_dims(x))}).detach();
}

struct ReducerScope {
  explicit ReducerScope(BatchNormReducer reducer) { set_batch_norm_reducer(std::move(reducer)); }
  ~ReducerScope() { set_batch_norm_reducer({}); }
};

// `format`: the memory layout of this rank's input (channels-last inputs
// take the layer's general path instead of its direct host loops).
template <typename Norm>
void check_two_rank_equivalence(const std::vector<std::int64_t>& shape,
                                torch::MemoryFormat format = torch::MemoryFormat::Contiguous) {
  torch::manual_seed(3);
  const std::int64_t channels = shape[1];
  const torch::Tensor full = torch::randn(shape, torch::kDouble) * 2 + 0.5;
  const std::int64_t half = shape[0] / 2;
  const torch::Tensor mine = full.narrow(0, 0, half).contiguous(format).requires_grad_(true);
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

  // Both ranks' loss: each rank weighs its own rows by its upstream gradient.
  // The reference: the whole batch in one process, torch's own kernel.
  const torch::Tensor their_upstream = torch::randn(theirs.sizes(), torch::kDouble);
  const torch::Tensor whole_input = torch::cat({mine.detach(), theirs}).requires_grad_(true);
  const torch::Tensor expected_all = whole(whole_input);
  (expected_all * torch::cat({upstream, their_upstream})).sum().backward();
  const torch::Tensor expected = expected_all.narrow(0, 0, half).detach();
  const auto [var, mean] = torch::var_mean(whole_input.detach(), reduced_dims(mine), /*unbiased=*/false);

  int calls = 0;
  torch::Tensor out;
  {
    ReducerScope scope([&](torch::Tensor& local) {
      ++calls;
      EXPECT_EQ(local.scalar_type(), torch::kDouble);
      local += local.size(0) == 2 * channels + 1 ? rank_statistics(theirs)
                                                 : rank_gradient_sums(theirs, their_upstream, mean, var);
    });
    out = synced(mine);
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(torch::allclose(out, expected, 1e-10, 1e-10));
    EXPECT_TRUE(torch::allclose(synced->running_mean, whole->running_mean, 1e-12, 1e-12));
    EXPECT_TRUE(torch::allclose(synced->running_var, whole->running_var, 1e-12, 1e-12));
    EXPECT_EQ(synced->num_batches_tracked.template item<std::int64_t>(), 1);
    (out * upstream).sum().backward();
    EXPECT_EQ(calls, 2);
  }

  // This rank's input gradient is its rows of the whole batch's; weight and
  // bias get this rank's share (the other rank holds the rest).
  EXPECT_TRUE(torch::allclose(mine.grad(), whole_input.grad().narrow(0, 0, half), 1e-10, 1e-10));
  const torch::Tensor their_xhat = (expected_all.narrow(0, half, shape[0] - half).detach() -
                                    whole->bias.detach().view(channel_shape(theirs))) /
                                   whole->weight.detach().view(channel_shape(theirs));
  EXPECT_TRUE(torch::allclose(synced->weight.grad() + (their_upstream * their_xhat).sum(reduced_dims(theirs)),
                              whole->weight.grad(), 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(synced->bias.grad() + their_upstream.sum(reduced_dims(theirs)),
                              whole->bias.grad(), 1e-10, 1e-10));
}

TEST(BatchNorm, TwoDimensionalStatisticsAreThoseOfTheCombinedBatch) {
  check_two_rank_equivalence<BatchNorm2d>({6, 3, 4, 5});
}

TEST(BatchNorm, ChannelsLastInputsGetTheSameStatisticsAndGradients) {
  check_two_rank_equivalence<BatchNorm2d>({6, 3, 4, 5}, torch::MemoryFormat::ChannelsLast);
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
  ReducerScope scope([&](torch::Tensor&) { ++calls; });
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
