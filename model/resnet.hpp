// The image encoder: a ResNet trunk (the "lower" encoder, conv1 … layer4)
// and the "upper" encoder (global average pool → Linear → L2 → × norm_scale).
// Parameter and buffer names are torchvision's (conv1, bn1, layer1.0.conv1,
// layer2.0.downsample.0, …), so a torchvision state dict maps 1:1 onto the
// trunk; the trunk has no classifier, so an ImageNet file's fc.* is not ours.
#pragma once

#include <string>

#include <torch/torch.h>

#include "model/batch_norm.hpp"

namespace cir::model {

struct ResNetOptions {
  std::string arch = "resnet50";  // "resnet18" (basic blocks) or "resnet50" (bottlenecks)
  std::int64_t width = 64;        // stem width; layers have width·{1, 2, 4, 8} planes
  // layer4's first block at stride 1 (its strided 3x3 conv — conv2 of a
  // bottleneck, conv1 of a basic block — and downsample.0): a 224 input
  // gives a 14x14 map instead of 7x7.
  bool layer4_stride1 = true;
};

// conv1 … layer4: images [B, 3, S, S] → the layer4 map [B, channels(), S/16 or S/32, …].
class ResNetImpl : public torch::nn::Module {
 public:
  explicit ResNetImpl(const ResNetOptions& options);
  torch::Tensor forward(const torch::Tensor& images);
  // Channels of the layer4 map: 8·width·expansion (2048 for ResNet-50).
  std::int64_t channels() const { return channels_; }
  const ResNetOptions& options() const { return options_; }

  // Loads a torchvision-named safetensors file (an ImageNet checkpoint). Its
  // classifier (fc.*) is skipped; every other key must match one of ours in
  // name and shape and each of ours must be present, else nothing is loaded
  // and one cir::Error lists what is missing, unexpected or mis-shaped.
  void load_torchvision_weights(const std::string& path);

 private:
  ResNetOptions options_;
  std::int64_t channels_ = 0;
  torch::nn::Conv2d conv1{nullptr};
  BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
};
TORCH_MODULE(ResNet);

// The upper encoder: a map [B, C, h, w] → features [B, dim], L2-normalised
// and multiplied by norm_scale. Its Linear is named `fc`, as in the authors' tree.
class UpperEncoderImpl : public torch::nn::Module {
 public:
  UpperEncoderImpl(std::int64_t channels, std::int64_t dim, double norm_scale);
  torch::Tensor forward(const torch::Tensor& map);

 private:
  torch::nn::Linear fc{nullptr};
  double norm_scale_;
};
TORCH_MODULE(UpperEncoder);

}  // namespace cir::model
