#include "model/composed.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <unordered_set>

#include "common/error.hpp"
#include "model/batch_norm.hpp"

namespace cir::model {

ModelOptions model_options(const cir::Params& params) {
  ModelOptions options;
  options.image.arch = params.get(keys::model::image::arch);
  options.image.width = params.get(keys::model::image::width);
  options.image.layer4_stride1 = params.get(keys::model::image::layer4_stride1);
  options.image_weights = params.get(keys::model::image::weights);
  options.norm_scale = params.get(keys::model::norm_scale);
  options.feature_dim = params.get(keys::model::feature_dim);
  options.heads = params.get(keys::model::compositor::heads);
  options.text_dropout = params.get(keys::model::text::dropout);
  // The contract allows a dropout of 1; the text branch would then be all zeros.
  if (options.text_dropout == 1.0)
    throw Error("a dropout of 1 drops every text feature", params.where(keys::model::text::dropout),
                "use a dropout below 1");
  return options;
}

void check_image_weights(const cir::Params& params) {
  const std::string path = params.get(keys::model::image::weights);
  if (path.empty()) return;
  const std::string hint =
      "model.image.weights names a torchvision ResNet state dict saved as safetensors; \"\" starts from "
      "random weights";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error(fmt::format("the image weights file {} does not exist", path),
                params.where(keys::model::image::weights), hint);
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(fmt::format("the image weights {} are not a file", path),
                params.where(keys::model::image::weights), hint);
  if (std::ifstream in(path, std::ios::binary); !in)
    throw Error(fmt::format("the image weights file {} cannot be read", path),
                params.where(keys::model::image::weights), hint);
}

TextModelImpl::TextModelImpl(std::shared_ptr<TextEncoderImpl> encoder, std::int64_t feature_dim,
                             double dropout)
    : backbone_(std::move(encoder)) {
  if (!backbone_) throw Error("the composed model needs a text encoder, got none");
  register_module("backbone", backbone_);
  model =
      torch::nn::Sequential(BatchNorm1d(backbone_->dim()), torch::nn::Linear(backbone_->dim(), feature_dim));
  if (dropout > 0) model->push_back(torch::nn::Dropout(dropout));
  register_module("model", model);
}

torch::Tensor TextModelImpl::forward(const torch::Tensor& ids, const torch::Tensor& mask) {
  torch::Tensor feature;
  if (is_training()) {
    feature = backbone_->forward(ids, mask);
  } else {
    torch::NoGradGuard no_grad;
    feature = backbone_->forward(ids, mask);
  }
  return model->forward(feature);
}

ComposedModelImpl::ComposedModelImpl(const ModelOptions& options,
                                     std::shared_ptr<TextEncoderImpl> text_encoder)
    : options_(options) {
  lower_image_encoder_ = register_module("lower_image_encoder", ResNet(options_.image));
  const std::int64_t channels = lower_image_encoder_->channels();
  upper_image_encoder_ = register_module("upper_image_encoder",
                                         UpperEncoder(channels, options_.feature_dim, options_.norm_scale));
  text_encoder_ = register_module(
      "text_encoder", TextModel(std::move(text_encoder), options_.feature_dim, options_.text_dropout));
  compositor_ = register_module("compositor", Compositor(channels, options_.feature_dim, options_.heads));
  if (!options_.image_weights.empty()) {
    try {
      lower_image_encoder_->load_torchvision_weights(options_.image_weights);
    } catch (const Error& e) {
      Where where = e.where();
      if (where.key.empty()) where.key = keys::model::image::weights.name;
      throw Error(e.message(), where,
                  "model.image.weights must be a torchvision " + options_.image.arch + " state dict (width " +
                      std::to_string(options_.image.width) + ") saved as safetensors");
    }
  }
}

torch::Tensor ComposedModelImpl::image_features(const torch::Tensor& images) {
  return upper_image_encoder_(lower_image_encoder_(images));
}

torch::Tensor ComposedModelImpl::compose(const torch::Tensor& images, const torch::Tensor& ids,
                                         const torch::Tensor& mask) {
  const torch::Tensor map = lower_image_encoder_(images);
  const torch::Tensor text = text_encoder_(ids, mask);
  return upper_image_encoder_(compositor_(map, text));
}

std::vector<ParamGroup> ComposedModelImpl::parameter_groups(double text_lr_factor, bool text_pretrained) {
  std::unordered_set<const void*> text;
  if (text_pretrained)
    for (const auto& p : text_encoder_->backbone()->parameters()) text.insert(p.unsafeGetTensorImpl());
  ParamGroup rest{{}, 1.0}, encoder{{}, text_lr_factor};
  for (const auto& p : parameters())
    (text.count(p.unsafeGetTensorImpl()) ? encoder : rest).params.push_back(p);
  std::vector<ParamGroup> groups;
  for (auto* group : {&rest, &encoder})
    if (!group->params.empty()) groups.push_back(std::move(*group));
  return groups;
}

}  // namespace cir::model
