#include "model/compositor.hpp"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.hpp"
#include "common/keys.hpp"

namespace cir::model {
namespace {

torch::nn::Conv2d conv1x1(std::int64_t in, std::int64_t out, bool bias) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).bias(bias));
}

}  // namespace

AttentionModuleImpl::AttentionModuleImpl(std::int64_t channels, std::int64_t text_dim, std::int64_t heads)
    : heads_(heads) {
  if (heads < 1 || channels % heads != 0)
    throw Error(fmt::format("the compositor's {} channels do not split into {} heads", channels, heads),
                Where{.key = keys::model::compositor::heads.name},
                "use a head count that divides the image channels");
  merge = register_module("merge", conv1x1(channels + text_dim, channels, false));
  W_v = register_module("W_v", conv1x1(channels, channels, false));
  W_r = register_module("W_r", conv1x1(channels, channels, true));
  auto self_att = register_module("self_att_generator", std::make_shared<torch::nn::Module>());
  W_q = self_att->register_module("W_q", conv1x1(channels, channels, false));
  W_k = self_att->register_module("W_k", conv1x1(channels, channels, false));
  auto global_att = register_module("global_att_generator", std::make_shared<torch::nn::Module>());
  W_t = global_att->register_module("W_t", torch::nn::Linear(text_dim, channels));
}

torch::Tensor AttentionModuleImpl::forward(const torch::Tensor& x, const torch::Tensor& t) {
  const std::int64_t batch = x.size(0), channels = x.size(1), h = x.size(2), w = x.size(3);
  const std::int64_t positions = h * w, head_dim = channels / heads_;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));

  const torch::Tensor tiled = t.view({batch, t.size(1), 1, 1}).expand({batch, t.size(1), h, w});
  const torch::Tensor v = W_v(merge(torch::cat({x, tiled}, 1))).view({batch, heads_, head_dim, positions});
  const torch::Tensor q = W_q(x).view({batch, heads_, head_dim, positions});
  const torch::Tensor k = W_k(x).view({batch, heads_, head_dim, positions});
  // [B, heads, hw (query), hw (key)], softmax over the keys.
  const torch::Tensor self_map = torch::softmax(torch::matmul(q.transpose(2, 3), k) * scale, -1);
  // [B, heads, 1, hw], softmax over the positions.
  const torch::Tensor text_key = W_t(t).view({batch, heads_, 1, head_dim});
  const torch::Tensor text_map =
      torch::softmax(torch::matmul(text_key, x.reshape({batch, heads_, head_dim, positions})) * scale, -1);
  const torch::Tensor attention = self_map + text_map;
  // out[c, i] = Σ_j v[c, j]·map[i, j]
  const torch::Tensor out = torch::matmul(v, attention.transpose(2, 3)).reshape({batch, channels, h, w});
  return W_r(out);
}

EqualLinearImpl::EqualLinearImpl(std::int64_t in, std::int64_t out)
    : scale_(std::sqrt(2.0 / static_cast<double>(in))) {
  auto linear = register_module("linear", std::make_shared<torch::nn::Module>());
  weight_orig = linear->register_parameter("weight_orig", torch::randn({out, in}));
  bias = linear->register_parameter("bias", torch::zeros({out}));
}

torch::Tensor EqualLinearImpl::forward(const torch::Tensor& input) {
  return torch::nn::functional::linear(input, weight_orig * scale_, bias);
}

GlobalStylerImpl::GlobalStylerImpl(std::int64_t channels, std::int64_t text_dim) : channels_(channels) {
  global_transform = register_module("global_transform", EqualLinear(text_dim, 2 * channels));
  gate = register_module("gate", EqualLinear(text_dim, 2 * channels));
  torch::NoGradGuard no_grad;
  global_transform->bias.narrow(0, 0, channels).fill_(1);
}

torch::Tensor GlobalStylerImpl::forward(const torch::Tensor& o, const torch::Tensor& x,
                                        const torch::Tensor& t) {
  const std::int64_t batch = x.size(0);
  const torch::Tensor flat = x.detach().flatten(2);
  const torch::Tensor mean = flat.mean(-1).view({batch, channels_, 1, 1});
  const torch::Tensor std = flat.std(-1, /*unbiased=*/false).view({batch, channels_, 1, 1});
  const torch::Tensor g = torch::sigmoid(gate(t)).view({batch, 2 * channels_, 1, 1});
  const torch::Tensor style = global_transform(t).view({batch, 2 * channels_, 1, 1});
  const torch::Tensor g_std = g.narrow(1, 0, channels_), g_mean = g.narrow(1, channels_, channels_);
  const torch::Tensor gamma = style.narrow(1, 0, channels_), beta = style.narrow(1, channels_, channels_);
  return (g_std * std + gamma) * o + (g_mean * mean + beta);
}

CompositorImpl::CompositorImpl(std::int64_t channels, std::int64_t text_dim, std::int64_t heads) {
  att_module = register_module("att_module", AttentionModule(channels, text_dim, heads));
  att_module2 = register_module("att_module2", AttentionModule(channels, text_dim, heads));
  global_styler = register_module("global_styler", GlobalStyler(channels, text_dim));
  weights = register_parameter("weights", torch::ones({2}));
}

torch::Tensor CompositorImpl::forward(const torch::Tensor& x, const torch::Tensor& t) {
  if (x.dim() != 4 || t.dim() != 2 || x.size(0) != t.size(0))
    throw Error(
        fmt::format("the compositor takes a map [B, C, h, w] and a text feature [B, T], got {} and {}",
                    fmt::join(x.sizes(), "x"), fmt::join(t.sizes(), "x")));
  const torch::Tensor n = torch::instance_norm(x, {}, {}, {}, {}, /*use_input_stats=*/true, 0.1, 1e-5,
                                               /*cudnn_enabled=*/true);
  const torch::Tensor o1 = n + weights[0] * att_module(n, t);
  const torch::Tensor o2 = o1 + weights[1] * att_module2(o1, t);
  return global_styler(o2, x, t);
}

}  // namespace cir::model
