// The ResNet trunk against torchvision: a Python script builds torchvision's
// ResNet-18 and ResNet-50 with fixed random weights and saves them with its
// outputs on a fixed batch; the C++ trunk loads the same file and must give
// the same layer4 map (eval at stride 2 and 1, and training mode with batch
// statistics, local and through a batch-norm reducer).
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "model/batch_norm.hpp"
#include "model/io/safetensors.hpp"
#include "model/io/state.hpp"
#include "model/resnet.hpp"
#include "tests/model/test_support.hpp"

namespace cir::model {
namespace {

class ResNetVsTorchvision : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    torch::set_num_threads(1);
    outputs_ = test::reference_outputs("resnet_reference.py");
  }
  void SetUp() override { ASSERT_FALSE(outputs_.empty()) << "the torchvision reference could not be built"; }

  std::string arch() const { return GetParam(); }
  std::filesystem::path weights() const { return outputs_ / (arch() + ".safetensors"); }
  torch::Tensor reference(const std::string& name) const {
    return SafetensorsFile(outputs_ / (arch() + "_io.safetensors")).tensor(name);
  }
  // The trunk with the reference's weights, in double precision like the
  // reference outputs.
  ResNet load(bool stride1) const {
    ResNet net(ResNetOptions{arch(), 64, stride1});
    net->load_torchvision_weights(weights().string());
    net->to(torch::kDouble);
    return net;
  }

  static std::filesystem::path outputs_;
};
std::filesystem::path ResNetVsTorchvision::outputs_;

TEST_P(ResNetVsTorchvision, EvalMapMatchesAtStride2) {
  ResNet net = load(false);
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor map = net(reference("images"));
  EXPECT_EQ(map.size(1), net->channels());
  EXPECT_LT(test::max_abs_diff(map, reference("eval_stride2")), 1e-8);
}

TEST_P(ResNetVsTorchvision, EvalMapMatchesWithLayer4AtStride1) {
  ResNet net = load(true);
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor map = net(reference("images"));
  EXPECT_EQ(map.size(2), 4);  // 64 px / 16
  EXPECT_LT(test::max_abs_diff(map, reference("eval_stride1")), 1e-8);
}

TEST_P(ResNetVsTorchvision, Float32EvalMapMatchesWithinFloat32Rounding) {
  ResNet net(ResNetOptions{arch(), 64, false});
  net->load_torchvision_weights(weights().string());
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor expected = reference("eval_stride2");
  const torch::Tensor map = net(reference("images").to(torch::kFloat));
  EXPECT_EQ(map.scalar_type(), torch::kFloat);
  // float32 torchvision itself is ≈1e-3 off its double map on ResNet-50.
  EXPECT_LT(test::max_abs_diff(map, expected), 3e-4 * expected.abs().max().item<double>());
}

TEST_P(ResNetVsTorchvision, TrainingForwardUsesBatchStatisticsAndUpdatesRunningOnes) {
  for (const bool through_reducer : {false, true}) {
    SCOPED_TRACE(through_reducer ? "through an identity reducer" : "local");
    // One rank: the reducer's sum over the group is the tensor itself.
    if (through_reducer) set_batch_norm_reducer([](torch::Tensor&) {});
    ResNet net = load(false);
    net->train();
    torch::NoGradGuard no_grad;
    const torch::Tensor map = net(reference("images"));
    set_batch_norm_reducer({});
    EXPECT_LT(test::max_abs_diff(map, reference("train_stride2")), 1e-8);
    const NamedTensors state = module_state(*net);
    auto find = [&](const std::string& name) {
      for (const auto& [key, value] : state)
        if (key == name) return value;
      ADD_FAILURE() << "no " << name;
      return torch::Tensor();
    };
    EXPECT_LT(test::max_abs_diff(find("layer4.0.bn2.running_mean"), reference("train_running_mean")), 1e-10);
    EXPECT_LT(test::max_abs_diff(find("layer4.0.bn2.running_var"), reference("train_running_var")), 1e-10);
    EXPECT_EQ(find("layer4.0.bn2.num_batches_tracked").scalar_type(), torch::kLong);
    EXPECT_EQ(find("layer4.0.bn2.num_batches_tracked").item<std::int64_t>(),
              reference("train_num_batches_tracked").item<std::int64_t>());
  }
}

TEST_P(ResNetVsTorchvision, WeightsOfTheOtherArchitectureAreRefusedWithEveryProblemListed) {
  const std::string other = arch() == "resnet18" ? "resnet50" : "resnet18";
  ResNet net(ResNetOptions{other, 64, false});
  try {
    net->load_torchvision_weights(weights().string());
    FAIL() << "loading " << arch() << " weights into " << other << " succeeded";
  } catch (const Error& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find(weights().string()), std::string::npos) << text;
    EXPECT_NE(text.find("missing"), std::string::npos) << text;
    EXPECT_NE(text.find("mismatch"), std::string::npos) << text;
    EXPECT_NE(text.find("layer1.0.conv1.weight"), std::string::npos) << text;
  }
}

INSTANTIATE_TEST_SUITE_P(Torchvision, ResNetVsTorchvision, ::testing::Values("resnet18", "resnet50"));

TEST(ResNet, WidthScalesEveryLayerAndStride1DoublesTheMap) {
  ResNet narrow(ResNetOptions{"resnet18", 16, false});
  EXPECT_EQ(narrow->channels(), 128);
  ResNet wide(ResNetOptions{"resnet50", 16, true});
  EXPECT_EQ(wide->channels(), 512);
  torch::NoGradGuard no_grad;
  narrow->eval();
  wide->eval();
  const torch::Tensor images = torch::randn({1, 3, 64, 64});
  EXPECT_EQ(narrow(images).sizes(), (std::vector<std::int64_t>{1, 128, 2, 2}));
  EXPECT_EQ(wide(images).sizes(), (std::vector<std::int64_t>{1, 512, 4, 4}));
}

TEST(ResNet, ParameterNamesAreTorchvisions) {
  ResNet net(ResNetOptions{"resnet50", 8, true});
  std::vector<std::string> names;
  for (const auto& [name, tensor] : module_state(*net)) names.push_back(name);
  for (const char* expected : {"conv1.weight", "bn1.running_mean", "layer1.0.downsample.0.weight",
                               "layer1.0.downsample.1.num_batches_tracked", "layer4.2.conv3.weight",
                               "layer4.0.conv2.weight", "layer3.5.bn3.bias"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  EXPECT_EQ(std::find(names.begin(), names.end(), "fc.weight"), names.end());
}

TEST(ResNet, UnknownArchitectureNamesTheKey) {
  try {
    ResNet net(ResNetOptions{"resnet34", 64, false});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where().key, "model.image.arch");
  }
}

TEST(UpperEncoder, GivesL2NormalisedFeaturesTimesNormScale) {
  UpperEncoder upper(32, 8, 4.0);
  const torch::Tensor features = upper(torch::randn({3, 32, 2, 2}));
  EXPECT_EQ(features.sizes(), (std::vector<std::int64_t>{3, 8}));
  EXPECT_TRUE(torch::allclose(features.norm(2, 1), torch::full({3}, 4.0)));
}

}  // namespace
}  // namespace cir::model
