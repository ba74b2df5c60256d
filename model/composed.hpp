// The composed-retrieval model (docs/paper-notes.md "Network"):
//   f_t = upper(lower(I_t))                       image_features
//   f_s = upper(compositor(lower(I_s), text(T_s)))  compose
// with text(T) = model(encoder(T)), model = BatchNorm1d → Linear → optional
// Dropout (model.text.dropout). Reference and target share every image
// weight. Module tree (parameter names):
//   lower_image_encoder.*   torchvision ResNet names (conv1, bn1, layer1.0.conv1, …)
//   upper_image_encoder.fc  Linear(channels → feature_dim)
//   text_encoder.backbone.* the TextEncoderImpl's own names (HF names for RoBERTa)
//   text_encoder.model.0    BatchNorm1d(encoder dim)
//   text_encoder.model.1    Linear(encoder dim → feature_dim)
//   compositor.*            the authors' names (model/compositor.hpp)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/params.hpp"
#include "model/compositor.hpp"
#include "model/resnet.hpp"
#include "model/text_encoder.hpp"

namespace cir::model {

struct ModelOptions {
  ResNetOptions image;             // model.image.arch, .width, .layer4_stride1
  std::string image_weights;       // model.image.weights ("" = random init)
  double norm_scale = 4.0;         // model.norm_scale
  std::int64_t feature_dim = 512;  // model.feature_dim
  std::int64_t heads = 8;          // model.compositor.heads
  double text_dropout = 0.0;       // model.text.dropout
};

// Reads the keys above; values out of range are a cir::Error naming the key.
ModelOptions model_options(const cir::Params& params);

// model.image.weights checked as far as its file goes, for a sweep's
// pre-flight (common/preflight.hpp): when set, it names a file that can be
// opened. Throws cir::Error naming the key and the path.
void check_image_weights(const cir::Params& params);

// The text side: a TextEncoderImpl, then BatchNorm1d → Linear → Dropout.
// In eval mode the encoder runs without gradients.
class TextModelImpl : public torch::nn::Module {
 public:
  TextModelImpl(std::shared_ptr<TextEncoderImpl> encoder, std::int64_t feature_dim, double dropout);
  // ids, mask: [B, L] int64 → [B, feature_dim].
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask);
  const std::shared_ptr<TextEncoderImpl>& backbone() const { return backbone_; }

 private:
  std::shared_ptr<TextEncoderImpl> backbone_;
  torch::nn::Sequential model{nullptr};
};
TORCH_MODULE(TextModel);

// A set of parameters trained at lr_factor × the base learning rate.
struct ParamGroup {
  std::vector<torch::Tensor> params;
  double lr_factor = 1.0;
};

class ComposedModelImpl : public torch::nn::Module {
 public:
  // Builds the model with torchvision's initialisation, then loads
  // options.image_weights into the ResNet when it is set.
  ComposedModelImpl(const ModelOptions& options, std::shared_ptr<TextEncoderImpl> text_encoder);

  // images [B, 3, S, S] → f_t [B, feature_dim].
  torch::Tensor image_features(const torch::Tensor& images);
  // images [B, 3, S, S], ids and mask [B, L] int64 → f_s [B, feature_dim].
  torch::Tensor compose(const torch::Tensor& images, const torch::Tensor& ids, const torch::Tensor& mask);

  // Every parameter exactly once: the text encoder's own parameters at
  // text_lr_factor when text_pretrained (RoBERTa), everything else (and a
  // randomly initialised encoder) at 1. Empty groups are left out.
  std::vector<ParamGroup> parameter_groups(double text_lr_factor, bool text_pretrained);

  const ModelOptions& options() const { return options_; }
  ResNet& lower_image_encoder() { return lower_image_encoder_; }

 private:
  ModelOptions options_;
  ResNet lower_image_encoder_{nullptr};
  UpperEncoder upper_image_encoder_{nullptr};
  TextModel text_encoder_{nullptr};
  Compositor compositor_{nullptr};
};
TORCH_MODULE(ComposedModel);

}  // namespace cir::model
