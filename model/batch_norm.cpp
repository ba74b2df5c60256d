#include "model/batch_norm.hpp"

#include <algorithm>
#include <mutex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.hpp"

namespace cir::model {
namespace {

std::mutex reducer_mutex;
BatchNormReducer current_reducer;

}  // namespace

void set_batch_norm_reducer(BatchNormReducer reducer) {
  std::lock_guard lock(reducer_mutex);
  current_reducer = std::move(reducer);
}

BatchNormReducer batch_norm_reducer() {
  std::lock_guard lock(reducer_mutex);
  return current_reducer;
}

BatchNormImpl::BatchNormImpl(BatchNormOptions options, std::initializer_list<std::int64_t> input_dims,
                             const char* name)
    : options_(options), input_dims_(input_dims), name_(name) {
  if (options_.features <= 0)
    throw Error(fmt::format("{}: the number of features must be positive, got {}", name_, options_.features));
  weight = register_parameter("weight", torch::ones({options_.features}));
  bias = register_parameter("bias", torch::zeros({options_.features}));
  running_mean = register_buffer("running_mean", torch::zeros({options_.features}));
  running_var = register_buffer("running_var", torch::ones({options_.features}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
}

void BatchNormImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  weight.fill_(1);
  bias.zero_();
  running_mean.zero_();
  running_var.fill_(1);
  num_batches_tracked.zero_();
}

void BatchNormImpl::pretty_print(std::ostream& stream) const {
  stream << "cir::model::" << name_ << "(" << options_.features << ", eps=" << options_.eps
         << ", momentum=" << options_.momentum << ")";
}

void BatchNormImpl::to(torch::Device device, torch::Dtype dtype, bool non_blocking) {
  for (torch::Tensor* t : {&weight, &bias, &running_mean, &running_var})
    t->set_data(t->to(device, dtype, non_blocking));
  num_batches_tracked.set_data(num_batches_tracked.to(device, torch::kLong, non_blocking));
}

void BatchNormImpl::to(torch::Dtype dtype, bool non_blocking) { to(weight.device(), dtype, non_blocking); }

torch::Tensor BatchNormImpl::forward(const torch::Tensor& input) {
  if (std::find(input_dims_.begin(), input_dims_.end(), input.dim()) == input_dims_.end() ||
      input.size(1) != options_.features)
    throw Error(fmt::format("{}({}): got an input of shape {}, expected {}D with {} channels in dimension 1",
                            name_, options_.features, fmt::join(input.sizes(), "x"), input_dims_.front(),
                            options_.features));
  if (is_training()) {
    if (const BatchNormReducer reducer = batch_norm_reducer()) return reduced_forward(input, reducer);
    {
      torch::NoGradGuard no_grad;
      num_batches_tracked.add_(1);
    }
  }
  return torch::batch_norm(input, weight, bias, running_mean, running_var, is_training(), options_.momentum,
                           options_.eps, /*cudnn_enabled=*/true);
}

torch::Tensor BatchNormImpl::reduced_forward(const torch::Tensor& input, const BatchNormReducer& reducer) {
  const std::int64_t channels = options_.features;
  std::vector<std::int64_t> reduce_dims{0};
  for (std::int64_t d = 2; d < input.dim(); ++d) reduce_dims.push_back(d);
  const double local_count = static_cast<double>(input.numel() / channels);

  // Σx and Σx² from the local mean and (biased) variance, and the count, in
  // one tensor so that one reduction gives the combined batch's statistics.
  const auto [local_var, local_mean] = torch::var_mean(input, reduce_dims, /*unbiased=*/false);
  const torch::Tensor count = torch::full({1}, local_count, input.options());
  const torch::Tensor stats = reducer(
      torch::cat({local_mean * local_count, (local_var + local_mean * local_mean) * local_count, count}));
  const torch::Tensor total = stats.narrow(0, 2 * channels, 1);
  const torch::Tensor mean = stats.narrow(0, 0, channels) / total;
  const torch::Tensor var = (stats.narrow(0, channels, channels) / total - mean * mean).clamp_min(0);
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor unbiased = var * total / (total - 1).clamp_min(1);
    running_mean.mul_(1 - options_.momentum).add_(mean, options_.momentum);
    running_var.mul_(1 - options_.momentum).add_(unbiased, options_.momentum);
    num_batches_tracked.add_(1);
  }
  std::vector<std::int64_t> shape(input.dim(), 1);
  shape[1] = channels;
  const torch::Tensor scale = (weight * torch::rsqrt(var + options_.eps)).view(shape);
  return (input - mean.view(shape)) * scale + bias.view(shape);
}

}  // namespace cir::model
