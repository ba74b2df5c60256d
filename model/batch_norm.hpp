// Batch normalisation with torchvision's parameter and buffer names (weight,
// bias, running_mean, running_var, num_batches_tracked) whose training
// statistics can span several processes.
//
// In training mode the per-channel statistics come from the batch. When a
// process-wide reducer is set (workers/sync_bn.hpp installs one for a
// data-parallel group), every rank normalises with the mean and (biased)
// variance of the combined batch and updates its running statistics with
// them (unbiased, as PyTorch's SyncBatchNorm does). Each module calls the
// reducer once in forward, on [Σx per channel | Σx² per channel | elements
// per channel (one value)] (2C + 1 values), and once in backward, on
// [Σg | Σg·x̂] (2C values: the sums over this rank's elements of the output
// gradient g and of g times the normalised input), always float64 on the
// input's device. The gradient of the input is that of the combined batch;
// weight and bias get this rank's share (sum them over the group, as
// workers/gradient_sync.hpp does). Forward and backward run the native
// kernels plus one small reduction each.
// Without a reducer (the default) the statistics are the local batch's and
// the native kernel runs. Eval mode always uses the running statistics.
#pragma once

#include <functional>
#include <initializer_list>

#include <torch/torch.h>

namespace cir::model {

// Replaces a tensor by its sum over the trial's group, in place, on every
// rank (a plain all-reduce; the batch norm does its own backward).
using BatchNormReducer = std::function<void(torch::Tensor&)>;

// Installs `reducer` for every batch norm of this process; an empty
// function restores local batch norm. Thread-safe.
void set_batch_norm_reducer(BatchNormReducer reducer);
// The reducer currently installed (empty = local batch norm).
BatchNormReducer batch_norm_reducer();

struct BatchNormOptions {
  std::int64_t features = 0;
  double eps = 1e-5;
  double momentum = 0.1;  // running = (1 − momentum)·running + momentum·batch
};

// The shared implementation of BatchNorm1d and BatchNorm2d: normalises
// over every dimension but 1 (the channels).
class BatchNormImpl : public torch::nn::Module {
 public:
  BatchNormImpl(BatchNormOptions options, std::initializer_list<std::int64_t> input_dims, const char* name);

  torch::Tensor forward(const torch::Tensor& input);
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;
  // Like Module::to, but num_batches_tracked stays int64 (as in PyTorch).
  using torch::nn::Module::to;
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Dtype dtype, bool non_blocking = false) override;

  const BatchNormOptions& options() const { return options_; }

  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  torch::Tensor reduced_forward(const torch::Tensor& input, const BatchNormReducer& reducer);

  BatchNormOptions options_;
  std::vector<std::int64_t> input_dims_;
  const char* name_;
};

// BatchNorm over [N, C, H, W] inputs.
class BatchNorm2dImpl : public BatchNormImpl {
 public:
  explicit BatchNorm2dImpl(std::int64_t features, double eps = 1e-5, double momentum = 0.1)
      : BatchNormImpl({features, eps, momentum}, {4}, "BatchNorm2d") {}
};
TORCH_MODULE(BatchNorm2d);

// BatchNorm over [N, C] or [N, C, L] inputs.
class BatchNorm1dImpl : public BatchNormImpl {
 public:
  explicit BatchNorm1dImpl(std::int64_t features, double eps = 1e-5, double momentum = 0.1)
      : BatchNormImpl({features, eps, momentum}, {2, 3}, "BatchNorm1d") {}
};
TORCH_MODULE(BatchNorm1d);

}  // namespace cir::model
