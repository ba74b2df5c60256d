#include "model/resnet.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.hpp"
#include "common/keys.hpp"
#include "model/io/state.hpp"

namespace cir::model {
namespace {

torch::nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

// torchvision's BasicBlock: 3x3 (strided) → 3x3, expansion 1.
class BasicBlockImpl : public torch::nn::Module {
 public:
  static constexpr std::int64_t expansion = 1;
  BasicBlockImpl(std::int64_t in, std::int64_t planes, std::int64_t stride, bool downsample)
      : conv1(register_module("conv1", conv(in, planes, 3, stride))),
        bn1(register_module("bn1", BatchNorm2d(planes))),
        conv2(register_module("conv2", conv(planes, planes, 3, 1))),
        bn2(register_module("bn2", BatchNorm2d(planes))) {
    if (downsample)
      this->downsample = register_module(
          "downsample",
          torch::nn::Sequential(conv(in, planes * expansion, 1, stride), BatchNorm2d(planes * expansion)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor out = torch::relu(bn1(conv1(x)));
    out = bn2(conv2(out));
    return torch::relu(out + (downsample ? downsample->forward(x) : x));
  }

  torch::nn::Conv2d conv1;
  BatchNorm2d bn1;
  torch::nn::Conv2d conv2;
  BatchNorm2d bn2;
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

// torchvision's Bottleneck (v1.5): 1x1 → 3x3 (strided) → 1x1, expansion 4.
class BottleneckImpl : public torch::nn::Module {
 public:
  static constexpr std::int64_t expansion = 4;
  BottleneckImpl(std::int64_t in, std::int64_t planes, std::int64_t stride, bool downsample)
      : conv1(register_module("conv1", conv(in, planes, 1, 1))),
        bn1(register_module("bn1", BatchNorm2d(planes))),
        conv2(register_module("conv2", conv(planes, planes, 3, stride))),
        bn2(register_module("bn2", BatchNorm2d(planes))),
        conv3(register_module("conv3", conv(planes, planes * expansion, 1, 1))),
        bn3(register_module("bn3", BatchNorm2d(planes * expansion))) {
    if (downsample)
      this->downsample = register_module(
          "downsample",
          torch::nn::Sequential(conv(in, planes * expansion, 1, stride), BatchNorm2d(planes * expansion)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor out = torch::relu(bn1(conv1(x)));
    out = torch::relu(bn2(conv2(out)));
    out = bn3(conv3(out));
    return torch::relu(out + (downsample ? downsample->forward(x) : x));
  }

  torch::nn::Conv2d conv1;
  BatchNorm2d bn1;
  torch::nn::Conv2d conv2;
  BatchNorm2d bn2;
  torch::nn::Conv2d conv3;
  BatchNorm2d bn3;
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck);

// torchvision's _make_layer: the first block changes stride and width.
template <typename Block>
torch::nn::Sequential make_layer(std::int64_t& in, std::int64_t planes, std::int64_t blocks,
                                 std::int64_t stride, bool downsample_first) {
  torch::nn::Sequential layer;
  layer->push_back(Block(in, planes, stride, downsample_first));
  in = planes * Block::Impl::expansion;
  for (std::int64_t i = 1; i < blocks; ++i) layer->push_back(Block(in, planes, 1, false));
  return layer;
}

}  // namespace

ResNetImpl::ResNetImpl(const ResNetOptions& options) : options_(options) {
  if (options_.arch != "resnet18" && options_.arch != "resnet50")
    throw Error(fmt::format("unknown image encoder '{}'", options_.arch),
                Where{.key = keys::model::image::arch.name}, "use \"resnet18\" or \"resnet50\"");
  if (options_.width < 1)
    throw Error(fmt::format("the image encoder's width must be positive, got {}", options_.width),
                Where{.key = keys::model::image::width.name},
                "64 is torchvision's ResNet, 16 the width/4 preset");
  const std::int64_t w = options_.width;
  conv1 = register_module(
      "conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, w, 7).stride(2).padding(3).bias(false)));
  bn1 = register_module("bn1", BatchNorm2d(w));
  std::int64_t in = w;
  const std::int64_t stride4 = options_.layer4_stride1 ? 1 : 2;
  // torchvision adds a downsample wherever the nominal stride is 2 or the
  // width changes; the stride-1 option keeps layer4's.
  if (options_.arch == "resnet18") {
    layer1 = register_module("layer1", make_layer<BasicBlock>(in, w, 2, 1, false));
    layer2 = register_module("layer2", make_layer<BasicBlock>(in, 2 * w, 2, 2, true));
    layer3 = register_module("layer3", make_layer<BasicBlock>(in, 4 * w, 2, 2, true));
    layer4 = register_module("layer4", make_layer<BasicBlock>(in, 8 * w, 2, stride4, true));
  } else {
    layer1 = register_module("layer1", make_layer<Bottleneck>(in, w, 3, 1, true));
    layer2 = register_module("layer2", make_layer<Bottleneck>(in, 2 * w, 4, 2, true));
    layer3 = register_module("layer3", make_layer<Bottleneck>(in, 4 * w, 6, 2, true));
    layer4 = register_module("layer4", make_layer<Bottleneck>(in, 8 * w, 3, stride4, true));
  }
  channels_ = in;
  // torchvision's initialisation: Kaiming normal (fan_out, ReLU) convs,
  // batch norms at weight 1 and bias 0.
  torch::NoGradGuard no_grad;
  for (auto& module : modules(/*include_self=*/false))
    if (auto* c = module->as<torch::nn::Conv2d>())
      torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
}

torch::Tensor ResNetImpl::forward(const torch::Tensor& images) {
  if (images.dim() != 4 || images.size(1) != 3)
    throw Error(fmt::format("the image encoder takes [B, 3, H, W] images, got shape {}",
                            fmt::join(images.sizes(), "x")));
  torch::Tensor x = torch::relu(bn1(conv1(images)));
  x = torch::max_pool2d(x, 3, 2, 1);
  return layer4->forward(layer3->forward(layer2->forward(layer1->forward(x))));
}

void ResNetImpl::load_torchvision_weights(const std::string& path) {
  LoadOptions options;
  options.skip_prefixes = {"fc."};
  load_state_strict(*this, std::filesystem::path(path), options);
}

UpperEncoderImpl::UpperEncoderImpl(std::int64_t channels, std::int64_t dim, double norm_scale)
    : fc(register_module("fc", torch::nn::Linear(channels, dim))), norm_scale_(norm_scale) {
  if (!(norm_scale > 0))
    throw Error(fmt::format("model.norm_scale must be positive, got {}", norm_scale),
                Where{.key = keys::model::norm_scale.name});
}

torch::Tensor UpperEncoderImpl::forward(const torch::Tensor& map) {
  const torch::Tensor pooled = map.mean({2, 3});
  const torch::Tensor features = fc(pooled);
  namespace F = torch::nn::functional;
  return F::normalize(features, F::NormalizeFuncOptions().p(2).dim(1)) * norm_scale_;
}

}  // namespace cir::model
