// The composed model on a small configuration with a stand-in text encoder:
// shapes and scale of f_s and f_t, parameter names, gradient reaching every
// parameter through total_loss, parameter groups, the eval-mode text
// encoder, ImageNet weight loading through model.image.weights, and a
// training step on the GPU equal to one on the CPU (skipped without a GPU).
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <map>
#include <set>

#include "common/error.hpp"
#include "model/composed.hpp"
#include "model/io/safetensors.hpp"
#include "model/io/state.hpp"
#include "model/losses.hpp"
#include "tests/model/test_support.hpp"

namespace cir::model {
namespace {

// A text encoder stand-in: the masked mean of token embeddings.
class MeanEmbeddingImpl : public TextEncoderImpl {
 public:
  MeanEmbeddingImpl(std::int64_t vocab, std::int64_t dim)
      : embedding(register_module("embedding", torch::nn::Embedding(vocab, dim))), dim_(dim) {}
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask) override {
    const torch::Tensor m = mask.unsqueeze(-1).to(torch::kFloat);
    return (embedding(ids) * m).sum(1) / m.sum(1).clamp_min(1);
  }
  std::int64_t dim() const override { return dim_; }
  torch::nn::Embedding embedding;

 private:
  std::int64_t dim_;
};

ModelOptions small_options() {
  ModelOptions options;
  options.image = ResNetOptions{"resnet18", 8, true};
  options.feature_dim = 16;
  options.heads = 2;
  options.norm_scale = 4.0;
  return options;
}

struct Batch {
  torch::Tensor images, ids, mask;
};

Batch batch(std::int64_t b) {
  Batch out{torch::randn({b, 3, 32, 32}), torch::randint(0, 20, {b, 5}), torch::ones({b, 5}, torch::kLong)};
  out.mask.index_put_({0, torch::indexing::Slice(3, torch::indexing::None)}, 0);
  return out;
}

TEST(ComposedModel, FeaturesHaveTheJointWidthAndNormScale) {
  torch::manual_seed(0);
  ComposedModel model(small_options(), std::make_shared<MeanEmbeddingImpl>(20, 12));
  const Batch b = batch(4);
  const torch::Tensor fs = model->compose(b.images, b.ids, b.mask), ft = model->image_features(b.images);
  EXPECT_EQ(fs.sizes(), (std::vector<std::int64_t>{4, 16}));
  EXPECT_EQ(ft.sizes(), (std::vector<std::int64_t>{4, 16}));
  EXPECT_TRUE(torch::allclose(fs.norm(2, 1), torch::full({4}, 4.0)));
  EXPECT_TRUE(torch::allclose(ft.norm(2, 1), torch::full({4}, 4.0)));
}

TEST(ComposedModel, ParameterNamesFollowTheAuthorsTree) {
  ModelOptions options = small_options();
  options.text_dropout = 0.1;
  ComposedModel model(options, std::make_shared<MeanEmbeddingImpl>(20, 12));
  std::set<std::string> names;
  for (const auto& [name, tensor] : module_state(*model)) names.insert(name);
  for (const char* expected :
       {"lower_image_encoder.conv1.weight", "lower_image_encoder.layer4.0.downsample.0.weight",
        "upper_image_encoder.fc.weight", "upper_image_encoder.fc.bias",
        "text_encoder.backbone.embedding.weight", "text_encoder.model.0.weight",
        "text_encoder.model.0.running_var", "text_encoder.model.1.weight", "compositor.weights",
        "compositor.att_module.merge.weight", "compositor.global_styler.gate.linear.weight_orig"})
    EXPECT_TRUE(names.count(expected)) << expected;
  // Dropout after the text Linear, as model.2 (it has no parameters).
  EXPECT_TRUE(model->named_modules().contains("text_encoder.model.2"));
  ComposedModel without(small_options(), std::make_shared<MeanEmbeddingImpl>(20, 12));
  EXPECT_FALSE(without->named_modules().contains("text_encoder.model.2"));
}

TEST(ComposedModel, GradientReachesEveryParameterThroughTheTotalLoss) {
  torch::manual_seed(1);
  ComposedModel model(small_options(), std::make_shared<MeanEmbeddingImpl>(20, 12));
  model->train();
  const Batch reference = batch(4), target = batch(4);
  const torch::Tensor fs = model->compose(reference.images, reference.ids, reference.mask);
  const torch::Tensor ft = model->image_features(target.images);
  LossOptions options;
  options.gamma0 = 1.0;
  const LossTerms terms = total_loss(fs, ft, options, 1, 10, at::make_generator<at::CPUGeneratorImpl>(5));
  terms.total.backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
  }
}

TEST(ComposedModel, EvalRunsTheTextEncoderWithoutGradients) {
  torch::manual_seed(2);
  auto encoder = std::make_shared<MeanEmbeddingImpl>(20, 12);
  ComposedModel model(small_options(), encoder);
  model->eval();
  const Batch b = batch(2);
  model->compose(b.images, b.ids, b.mask).sum().backward();
  EXPECT_FALSE(encoder->embedding->weight.grad().defined());
  EXPECT_TRUE(model->named_parameters()["text_encoder.model.1.weight"].grad().defined());
}

// One training step's forward and backward on `device`, in float64: the
// features, the total loss (the augmenter's noise drawn on the CPU), and
// every parameter's gradient and buffer afterwards, on the CPU.
struct StepResult {
  torch::Tensor fs, ft, loss;
  std::map<std::string, torch::Tensor> grads, buffers;
};

StepResult train_step_on(torch::Device device) {
  torch::manual_seed(3);
  ComposedModel model(small_options(), std::make_shared<MeanEmbeddingImpl>(20, 12));
  model->to(device, torch::kDouble);
  model->train();
  torch::manual_seed(4);
  const Batch reference = batch(4), target = batch(4);
  const torch::Tensor fs = model->compose(reference.images.to(device, torch::kDouble),
                                          reference.ids.to(device), reference.mask.to(device));
  const torch::Tensor ft = model->image_features(target.images.to(device, torch::kDouble));
  const LossTerms terms =
      total_loss(fs, ft, LossOptions{}, 1, 10, at::make_generator<at::CPUGeneratorImpl>(5));
  terms.total.backward();
  StepResult result{fs.detach().cpu(), ft.detach().cpu(), terms.total.detach().cpu(), {}, {}};
  for (const auto& p : model->named_parameters()) {
    EXPECT_EQ(p.value().device(), device) << p.key();
    result.grads[p.key()] = p.value().grad().cpu();
  }
  for (const auto& b : model->named_buffers()) result.buffers[b.key()] = b.value().cpu();
  return result;
}

// cuDNN's convolutions, cuBLAS and the CUDA kernels of every other layer
// compute what the CPU computes, up to float64 rounding.
TEST(ComposedModel, CudaTrainingStepMatchesTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const StepResult cpu = train_step_on(torch::kCPU), cuda = train_step_on({torch::kCUDA, 0});
  EXPECT_LT(test::max_abs_diff(cuda.fs, cpu.fs), 1e-9);
  EXPECT_LT(test::max_abs_diff(cuda.ft, cpu.ft), 1e-9);
  EXPECT_LT(test::max_abs_diff(cuda.loss, cpu.loss), 1e-9);
  ASSERT_EQ(cuda.grads.size(), cpu.grads.size());
  for (const auto& [name, grad] : cpu.grads)
    EXPECT_LT(test::max_abs_diff(cuda.grads.at(name), grad), 1e-8 * (1 + grad.abs().max().item<double>()))
        << name;
  for (const auto& [name, buffer] : cpu.buffers)
    EXPECT_LT(test::max_abs_diff(cuda.buffers.at(name), buffer),
              1e-9 * (1 + buffer.abs().max().item<double>()))
        << name;
}

TEST(ComposedModel, ParameterGroupsHoldEveryParameterOnce) {
  auto encoder = std::make_shared<MeanEmbeddingImpl>(20, 12);
  ComposedModel model(small_options(), encoder);
  const std::size_t total = model->parameters().size();

  const std::vector<ParamGroup> pretrained = model->parameter_groups(0.01, true);
  ASSERT_EQ(pretrained.size(), 2u);
  EXPECT_EQ(pretrained[0].lr_factor, 1.0);
  EXPECT_EQ(pretrained[1].lr_factor, 0.01);
  ASSERT_EQ(pretrained[1].params.size(), 1u);
  EXPECT_TRUE(pretrained[1].params[0].is_same(encoder->embedding->weight));
  std::set<const void*> seen;
  for (const auto& group : pretrained)
    for (const auto& p : group.params) EXPECT_TRUE(seen.insert(p.unsafeGetTensorImpl()).second);
  EXPECT_EQ(seen.size(), total);

  const std::vector<ParamGroup> scratch = model->parameter_groups(0.01, false);
  ASSERT_EQ(scratch.size(), 1u);
  EXPECT_EQ(scratch[0].lr_factor, 1.0);
  EXPECT_EQ(scratch[0].params.size(), total);
}

TEST(ComposedModel, LoadsImageNetWeightsSkippingTheClassifier) {
  torch::manual_seed(3);
  test::ScratchDir scratch("cir-composed-test");
  const std::filesystem::path file = scratch.path() / "imagenet.safetensors";
  ResNet source(small_options().image);
  NamedTensors state = module_state(*source);
  state.emplace_back("fc.weight", torch::randn({1000, 64}));
  state.emplace_back("fc.bias", torch::randn({1000}));
  write_safetensors(file, state);

  ModelOptions options = small_options();
  options.image_weights = file.string();
  ComposedModel model(options, std::make_shared<MeanEmbeddingImpl>(20, 12));
  auto loaded = model->lower_image_encoder()->named_parameters();
  for (const auto& p : source->named_parameters())
    EXPECT_TRUE(torch::equal(loaded[p.key()], p.value())) << p.key();

  options.image = ResNetOptions{"resnet50", 8, true};
  try {
    ComposedModel wrong(options, std::make_shared<MeanEmbeddingImpl>(20, 12));
    FAIL() << "resnet18 weights loaded into a resnet50";
  } catch (const Error& e) {
    EXPECT_EQ(e.where().key, "model.image.weights");
    EXPECT_EQ(e.where().file, file.string());
    EXPECT_NE(std::string(e.what()).find("layer1.0.conv3.weight"), std::string::npos) << e.what();
  }
}

TEST(ModelOptions, ReadsTheKeysAndNamesABadOne) {
  const std::string base = R"("model.image.arch": "resnet18", "model.image.width": 16,
      "model.image.layer4_stride1": false, "model.image.weights": "", "model.norm_scale": 4.0,
      "model.feature_dim": 32, "model.compositor.heads": 4)";
  const ModelOptions options = model_options(Params("{" + base + R"(, "model.text.dropout": 0.2})"));
  EXPECT_EQ(options.image.arch, "resnet18");
  EXPECT_EQ(options.image.width, 16);
  EXPECT_FALSE(options.image.layer4_stride1);
  EXPECT_EQ(options.feature_dim, 32);
  EXPECT_EQ(options.heads, 4);
  EXPECT_EQ(options.text_dropout, 0.2);
  try {
    model_options(Params("{" + base + R"(, "model.text.dropout": 1.5})", "trial-9"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where().key, "model.text.dropout");
    EXPECT_EQ(e.where().trial, "trial-9");
  }
}

}  // namespace
}  // namespace cir::model
