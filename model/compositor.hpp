// The CoSMo compositor ("DisentangledTransformer", docs/paper-notes.md "Network"):
// composes a layer4 map x [B, C, h, w] with a text feature t [B, T] into a
// map of the same shape as x.
//   n  = InstanceNorm2d(x)                      (no affine, eps 1e-5)
//   o1 = n  + weights[0]·A1(n, t)               (att_module)
//   o2 = o1 + weights[1]·A2(o1, t)              (att_module2)
//   out = (g_σ·σ_x + γ)·o2 + (g_μ·μ_x + β)      (global_styler)
// Parameter names are the authors': att_module.{merge,W_v,W_r},
// att_module.self_att_generator.{W_q,W_k}, att_module.global_att_generator.W_t,
// the same under att_module2, global_styler.{global_transform,gate}.linear.
// {weight_orig,bias}, weights.
#pragma once

#include <torch/torch.h>

namespace cir::model {

// One attention module A(x, t), `heads` heads over C channels:
//   v   = W_v(merge([x; tile(t)]))                    1x1 convs, no bias
//   S_h = softmax_keys((W_q x)_hᵀ (W_k x)_h / √(C/heads))        [hw × hw]
//   T_h = softmax_positions(x_hᵀ W_t(t)_h / √(C/heads))           [1 × hw]
//   out = W_r(concat_h v_h · (S_h + T_h)ᵀ)            W_r: 1x1 conv with bias
class AttentionModuleImpl : public torch::nn::Module {
 public:
  AttentionModuleImpl(std::int64_t channels, std::int64_t text_dim, std::int64_t heads);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t);

 private:
  std::int64_t heads_;
  torch::nn::Conv2d merge{nullptr}, W_v{nullptr}, W_r{nullptr}, W_q{nullptr}, W_k{nullptr};
  torch::nn::Linear W_t{nullptr};
};
TORCH_MODULE(AttentionModule);

// An "equalised learning rate" linear layer: the stored weight
// (linear.weight_orig, drawn from N(0, 1)) is multiplied by √(2/fan_in) at
// run time; linear.bias starts at 0.
class EqualLinearImpl : public torch::nn::Module {
 public:
  EqualLinearImpl(std::int64_t in, std::int64_t out);
  torch::Tensor forward(const torch::Tensor& input);
  torch::Tensor weight_orig, bias;

 private:
  double scale_;
};
TORCH_MODULE(EqualLinear);

// The global style module: re-injects the detached per-channel spatial mean
// μ_x and biased std σ_x of the original map, gated and shifted by the text:
//   (g_σ, g_μ) = sigmoid(gate(t)),  (γ, β) = global_transform(t)
//   out = (g_σ·σ_x + γ)·o + (g_μ·μ_x + β)
// global_transform's bias starts at [1…1, 0…0], so γ starts near 1.
class GlobalStylerImpl : public torch::nn::Module {
 public:
  GlobalStylerImpl(std::int64_t channels, std::int64_t text_dim);
  torch::Tensor forward(const torch::Tensor& o, const torch::Tensor& x, const torch::Tensor& t);

 private:
  std::int64_t channels_;
  EqualLinear global_transform{nullptr}, gate{nullptr};
};
TORCH_MODULE(GlobalStyler);

class CompositorImpl : public torch::nn::Module {
 public:
  CompositorImpl(std::int64_t channels, std::int64_t text_dim, std::int64_t heads);
  // x: [B, channels, h, w]; t: [B, text_dim] → [B, channels, h, w].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t);

 private:
  AttentionModule att_module{nullptr}, att_module2{nullptr};
  GlobalStyler global_styler{nullptr};
  torch::Tensor weights;
};
TORCH_MODULE(Compositor);

}  // namespace cir::model
