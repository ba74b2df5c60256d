#include "model/batch_norm.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <torch/csrc/autograd/saved_variable.h>

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

namespace {

using torch::autograd::Node;
using torch::autograd::SavedVariable;
using torch::autograd::variable_list;

std::vector<std::int64_t> channel_shape(const torch::Tensor& input) {
  std::vector<std::int64_t> shape(input.dim(), 1);
  shape[1] = input.size(1);
  return shape;
}

// Per-channel values as float64 on the host, where the small per-channel
// arithmetic runs as plain loops: a synchronised batch norm does a few dozen
// such steps per call, and as tensor operations their dispatch cost
// outweighed the whole layer at the small preset's sizes.
std::vector<double> host_values(const torch::Tensor& t) {
  const torch::Tensor h = t.detach().to(torch::kCPU, torch::kDouble).contiguous();
  return {h.data_ptr<double>(), h.data_ptr<double>() + h.numel()};
}

// Sums `values` over the group through `reducer`, in place.
void reduce(const BatchNormReducer& reducer, std::vector<double>& values) {
  torch::Tensor t =
      torch::from_blob(values.data(), {static_cast<std::int64_t>(values.size())}, torch::kDouble);
  reducer(t);
  if (t.data_ptr<double>() != values.data()) std::copy_n(t.data_ptr<double>(), values.size(), values.data());
}

// A copy of host per-channel values as a tensor like `like` (its dtype and
// device); a copy even when `like` is float64 on the host, so that it
// outlives `values`.
torch::Tensor to_tensor(const std::vector<double>& values, const torch::Tensor& like) {
  return torch::from_blob(const_cast<double*>(values.data()), {static_cast<std::int64_t>(values.size())},
                          torch::kDouble)
      .to(like.options(), /*non_blocking=*/false, /*copy=*/true);
}

// Backward of a synchronised batch norm y = (x − μ)·σ⁻¹·w + b, where μ and σ²
// are the statistics of the combined batch of M elements per channel:
//   dL/dx = w·σ⁻¹·(g − Σg/M − x̂·Σ(g·x̂)/M),  dL/dw = Σ_local g·x̂,  dL/db = Σ_local g,
// with Σg and Σ(g·x̂) summed over the group (one reduction of 2C values) and
// x̂ = (x − μ)·σ⁻¹. The native inference-mode backward kernel gives the local
// sums and w·σ⁻¹·g in one pass; the rest is one affine correction per
// channel, dL/dx += slope·x + offset.
struct SyncBatchNormBackward final : Node {
  SyncBatchNormBackward(const torch::Tensor& input, const torch::Tensor& weight, torch::Tensor mean,
                        torch::Tensor var, std::vector<double> host_mean, std::vector<double> host_var,
                        double count, double eps, BatchNormReducer reducer)
      : input_(input, false),
        weight_(weight, false),
        mean_(std::move(mean)),
        var_(std::move(var)),
        host_mean_(std::move(host_mean)),
        host_var_(std::move(host_var)),
        count_(count),
        eps_(eps),
        reducer_(std::move(reducer)) {}

  variable_list apply(variable_list&& grads) override {
    const torch::Tensor input = input_.unpack(), weight = weight_.unpack();
    // Every rank takes part in the reduction even when its gradient is
    // undefined (this rank's rows do not reach the loss).
    const torch::Tensor grad = grads[0].defined() ? grads[0].contiguous() : torch::zeros_like(input);
    auto [grad_input, grad_weight, grad_bias] = at::native_batch_norm_backward(
        grad, input, weight, mean_, var_, {}, {}, /*train=*/false, eps_, {true, true, true});
    std::vector<double> sums = host_values(torch::cat({grad_bias, grad_weight}));
    reduce(reducer_, sums);
    const std::vector<double> w = host_values(weight);
    const std::size_t channels = w.size();
    std::vector<double> correction(2 * channels);  // [slope | offset]
    for (std::size_t c = 0; c < channels; ++c) {
      const double invstd = 1.0 / std::sqrt(host_var_[c] + eps_);
      const double slope = -w[c] * invstd * invstd * sums[channels + c] / count_;
      correction[c] = slope;
      correction[channels + c] = -w[c] * invstd * sums[c] / count_ - slope * host_mean_[c];
    }
    const torch::Tensor affine = to_tensor(correction, input);
    const auto shape = channel_shape(input);
    const auto n = static_cast<std::int64_t>(channels);
    grad_input.addcmul_(input, affine.narrow(0, 0, n).view(shape)).add_(affine.narrow(0, n, n).view(shape));
    return {grad_input, grad_weight, grad_bias};
  }
  std::string name() const override { return "cir::model::SyncBatchNormBackward"; }
  void release_variables() override {
    input_.reset_data();
    weight_.reset_data();
  }

 private:
  SavedVariable input_, weight_;
  torch::Tensor mean_, var_;                  // of the combined batch (biased variance)
  std::vector<double> host_mean_, host_var_;  // the same in float64
  double count_, eps_;
  BatchNormReducer reducer_;
};

}  // namespace

torch::Tensor BatchNormImpl::reduced_forward(const torch::Tensor& input, const BatchNormReducer& reducer) {
  const auto channels = static_cast<std::size_t>(options_.features);
  const double local_count = static_cast<double>(input.numel() / options_.features);

  // [Σx | Σx² | n] from the local mean and (biased) variance, in float64 so
  // that the combined variance Σx²/n − μ² loses nothing to cancellation.
  std::vector<double> local;
  {
    torch::NoGradGuard no_grad;
    // The native statistics kernel (mean and biased variance); var_mean over
    // the same dimensions takes about twice as long on the CPU.
    const auto [local_mean, local_var] = at::batch_norm_update_stats(input, {}, {}, 0.0);
    local = host_values(torch::cat({local_mean, local_var}));
  }
  std::vector<double> stats(2 * channels + 1);
  for (std::size_t c = 0; c < channels; ++c) {
    const double m = local[c], v = local[channels + c];
    stats[c] = m * local_count;
    stats[channels + c] = (v + m * m) * local_count;
  }
  stats[2 * channels] = local_count;
  reduce(reducer, stats);
  const double count = stats[2 * channels];
  const double unbiased = count / std::max(count - 1, 1.0);
  std::vector<double> host_mean(channels), host_var(channels),
      moments(3 * channels);  // [μ | σ² | unbiased σ²]
  for (std::size_t c = 0; c < channels; ++c) {
    host_mean[c] = stats[c] / count;
    host_var[c] = std::max(stats[channels + c] / count - host_mean[c] * host_mean[c], 0.0);
    moments[c] = host_mean[c];
    moments[channels + c] = host_var[c];
    moments[2 * channels + c] = host_var[c] * unbiased;
  }
  const torch::Tensor all = to_tensor(moments, input);
  const auto n = static_cast<std::int64_t>(channels);
  const torch::Tensor mean = all.narrow(0, 0, n), var = all.narrow(0, n, n);
  torch::Tensor output;
  {
    torch::NoGradGuard no_grad;
    running_mean.lerp_(mean, options_.momentum);
    running_var.lerp_(all.narrow(0, 2 * n, n), options_.momentum);
    num_batches_tracked.add_(1);
    output = torch::batch_norm(input, weight, bias, mean, var, /*training=*/false, 0.0, options_.eps,
                               /*cudnn_enabled=*/true);
  }
  if (torch::GradMode::is_enabled() &&
      (input.requires_grad() || weight.requires_grad() || bias.requires_grad())) {
    auto node =
        std::shared_ptr<Node>(new SyncBatchNormBackward(input, weight, mean, var, std::move(host_mean),
                                                        std::move(host_var), count, options_.eps, reducer),
                              torch::autograd::deleteNode);
    node->set_next_edges(torch::autograd::collect_next_edges(input, weight, bias));
    torch::autograd::set_history(output, node);
  }
  return output;
}

}  // namespace cir::model
