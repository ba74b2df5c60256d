// The strict state loader: a matching file loads every parameter and buffer;
// a file that does not match changes nothing and is refused with one error
// that lists every missing key, unexpected key and shape mismatch.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/error.hpp"
#include "model/io/state.hpp"

namespace fs = std::filesystem;
using cir::model::NamedTensors;

namespace {

struct NetImpl : torch::nn::Module {
  NetImpl() {
    fc = register_module("fc", torch::nn::Linear(4, 3));
    norm = register_module("norm", torch::nn::BatchNorm1d(3));
  }
  torch::nn::Linear fc{nullptr};
  torch::nn::BatchNorm1d norm{nullptr};
};
TORCH_MODULE(Net);

std::string load_error(Net& net, const NamedTensors& state, const cir::model::LoadOptions& options = {}) {
  try {
    cir::model::load_state_strict(*net, state, "weights.safetensors", options);
  } catch (const cir::Error& e) {
    EXPECT_EQ(e.where().file, "weights.safetensors");
    return e.what();
  }
  return {};
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(StateLoader, SaveThenLoadRestoresParametersAndBuffers) {
  torch::manual_seed(3);
  Net source;
  source->norm->running_mean.fill_(0.5);
  source->norm->num_batches_tracked.fill_(7);
  const auto path = fs::temp_directory_path() / ("cir_state_" + std::to_string(::getpid()) + ".safetensors");
  cir::model::save_state(*source, path);
  Net target;
  cir::model::load_state_strict(*target, path);
  fs::remove(path);
  for (const auto& [name, tensor] : cir::model::module_state(*source)) {
    const auto other = cir::model::module_state(*target);
    const auto it = std::find_if(other.begin(), other.end(), [&](const auto& p) { return p.first == name; });
    ASSERT_NE(it, other.end()) << name;
    EXPECT_TRUE(torch::equal(it->second, tensor)) << name;
  }
  EXPECT_EQ(target->norm->num_batches_tracked.item<std::int64_t>(), 7);
}

TEST(StateLoader, ListsEveryProblemInOneErrorAndChangesNothing) {
  Net net;
  const auto before = net->fc->weight.clone();
  NamedTensors state;
  for (const auto& [name, tensor] : cir::model::module_state(*net)) {
    if (name == "norm.running_var" || name == "fc.bias") continue;  // two missing
    state.emplace_back(name, name == "fc.weight" ? torch::zeros({3, 5}) : tensor.clone());
  }
  state.emplace_back("head.weight", torch::zeros({2}));
  state.emplace_back("extra", torch::zeros({1}));
  const auto error = load_error(net, state);
  EXPECT_TRUE(has(error, "2 missing, 2 unexpected, 1 mismatched")) << error;
  EXPECT_TRUE(has(error, "fc.bias [3]")) << error;
  EXPECT_TRUE(has(error, "norm.running_var [3]")) << error;
  EXPECT_TRUE(has(error, "head.weight [2]")) << error;
  EXPECT_TRUE(has(error, "extra [1]")) << error;
  EXPECT_TRUE(has(error, "fc.weight: file [3, 5] vs model [3, 4]")) << error;
  EXPECT_TRUE(torch::equal(net->fc->weight, before));
}

TEST(StateLoader, RefusesIntegersForFloatsButConvertsFloatPrecision) {
  Net net;
  auto state = cir::model::module_state(*net);
  for (auto& [name, tensor] : state) {
    if (name == "fc.weight") tensor = torch::full({3, 4}, 0.5, torch::kFloat16);
  }
  EXPECT_EQ(load_error(net, state), "");
  EXPECT_TRUE(torch::equal(net->fc->weight, torch::full({3, 4}, 0.5)));
  for (auto& [name, tensor] : state) {
    if (name == "fc.bias") tensor = torch::zeros({3}, torch::kInt64);
  }
  EXPECT_TRUE(has(load_error(net, state), "fc.bias: file dtype Long vs model Float"));
}

TEST(StateLoader, StripsPrefixAndSkipsUnusedHeads) {
  Net net;
  NamedTensors state;
  for (const auto& [name, tensor] : cir::model::module_state(*net))
    state.emplace_back("wrap." + name, tensor);
  state.emplace_back("wrap.pooler.dense.weight", torch::zeros({2, 2}));
  state.emplace_back("lm_head.bias", torch::zeros({2}));
  EXPECT_TRUE(has(load_error(net, state, {.strip_prefix = "wrap."}), "2 unexpected"));
  EXPECT_EQ(load_error(net, state, {.strip_prefix = "wrap.", .skip_prefixes = {"pooler.", "lm_head."}}), "");
}

}  // namespace
