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

// Host tensors whose elements the helpers below read and write directly.
bool direct(const torch::Tensor& t) {
  return t.device().is_cpu() && t.is_contiguous() &&
         (t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kDouble);
}

// Per-channel values as float64 on the host, where the small per-channel
// arithmetic runs as plain loops: a synchronised batch norm does a few dozen
// such steps per call, and as tensor operations their dispatch cost was ~8%
// of a training step at the small preset's sizes.
void append_host_values(const torch::Tensor& t, std::vector<double>& out) {
  if (!direct(t)) {
    const torch::Tensor h = t.detach().to(torch::kCPU, torch::kDouble).contiguous();
    out.insert(out.end(), h.data_ptr<double>(), h.data_ptr<double>() + h.numel());
    return;
  }
  AT_DISPATCH_FLOATING_TYPES(t.scalar_type(), "host_values", [&] {
    const scalar_t* p = t.data_ptr<scalar_t>();
    out.insert(out.end(), p, p + t.numel());
  });
}

std::vector<double> host_values(const torch::Tensor& t) {
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(t.numel()));
  append_host_values(t, out);
  return out;
}

// Overwrites the 1-D tensor `t` with `values`.
void assign(const torch::Tensor& t, const std::vector<double>& values) {
  if (!direct(t)) {
    torch::NoGradGuard no_grad;
    t.copy_(torch::from_blob(const_cast<double*>(values.data()), {static_cast<std::int64_t>(values.size())},
                             torch::kDouble));
    return;
  }
  AT_DISPATCH_FLOATING_TYPES(t.scalar_type(), "assign",
                             [&] { std::copy(values.begin(), values.end(), t.data_ptr<scalar_t>()); });
}

// Sums `values` over the group through `reducer`, in place.
void reduce(const BatchNormReducer& reducer, std::vector<double>& values) {
  torch::Tensor t =
      torch::from_blob(values.data(), {static_cast<std::int64_t>(values.size())}, torch::kDouble);
  reducer(t);
  if (t.data_ptr<double>() != values.data()) std::copy_n(t.data_ptr<double>(), values.size(), values.data());
}

// grad += slope·input + offset, per channel (dimension 1).
void add_affine(torch::Tensor& grad, const torch::Tensor& input, const std::vector<double>& slope,
                const std::vector<double>& offset) {
  if (!direct(grad) || !direct(input) || grad.scalar_type() != input.scalar_type()) {
    const auto shape = channel_shape(input);
    const torch::Tensor a = torch::empty({input.size(1)}, input.options()),
                        b = torch::empty({input.size(1)}, input.options());
    assign(a, slope);
    assign(b, offset);
    grad.addcmul_(input, a.view(shape)).add_(b.view(shape));
    return;
  }
  const std::int64_t rows = input.size(0), channels = input.size(1);
  const std::int64_t inner = rows * channels > 0 ? input.numel() / (rows * channels) : 0;
  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "add_affine", [&] {
    scalar_t* g = grad.data_ptr<scalar_t>();
    const scalar_t* x = input.data_ptr<scalar_t>();
    for (std::int64_t n = 0; n < rows; ++n) {
      for (std::int64_t c = 0; c < channels; ++c) {
        const auto a = static_cast<scalar_t>(slope[c]), b = static_cast<scalar_t>(offset[c]);
        const std::int64_t base = (n * channels + c) * inner;
        for (std::int64_t i = 0; i < inner; ++i) g[base + i] += a * x[base + i] + b;
      }
    }
  });
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
    std::vector<double> sums = host_values(grad_bias);
    append_host_values(grad_weight, sums);
    reduce(reducer_, sums);
    const std::vector<double> w = host_values(weight);
    const std::size_t channels = w.size();
    std::vector<double> slope(channels), offset(channels);
    for (std::size_t c = 0; c < channels; ++c) {
      const double invstd = 1.0 / std::sqrt(host_var_[c] + eps_);
      slope[c] = -w[c] * invstd * invstd * sums[channels + c] / count_;
      offset[c] = -w[c] * invstd * sums[c] / count_ - slope[c] * host_mean_[c];
    }
    add_affine(grad_input, input, slope, offset);
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
    local = host_values(local_mean);
    append_host_values(local_var, local);
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
  const double momentum = options_.momentum;
  std::vector<double> host_mean(channels), host_var(channels);
  std::vector<double> new_running_mean = host_values(running_mean),
                      new_running_var = host_values(running_var);
  for (std::size_t c = 0; c < channels; ++c) {
    host_mean[c] = stats[c] / count;
    host_var[c] = std::max(stats[channels + c] / count - host_mean[c] * host_mean[c], 0.0);
    new_running_mean[c] = (1 - momentum) * new_running_mean[c] + momentum * host_mean[c];
    new_running_var[c] = (1 - momentum) * new_running_var[c] + momentum * host_var[c] * unbiased;
  }
  const torch::Tensor mean = torch::empty({options_.features}, input.options()),
                      var = torch::empty({options_.features}, input.options());
  assign(mean, host_mean);
  assign(var, host_var);
  assign(running_mean, new_running_mean);
  assign(running_var, new_running_var);
  torch::Tensor output;
  {
    torch::NoGradGuard no_grad;
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
