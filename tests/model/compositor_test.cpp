// The compositor against a torch.nn reference written head by head from the
// same equations (tests/model/reference/compositor_reference.py), with the
// same weights loaded by name: output and gradients in double precision.
#include <gtest/gtest.h>

#include <set>

#include "common/error.hpp"
#include "model/compositor.hpp"
#include "model/io/safetensors.hpp"
#include "model/io/state.hpp"
#include "tests/model/test_support.hpp"

namespace cir::model {
namespace {

TEST(Compositor, MatchesTheTorchReferenceForwardAndBackward) {
  const std::filesystem::path outputs = test::reference_outputs("compositor_reference.py");
  ASSERT_FALSE(outputs.empty());
  const SafetensorsFile io(outputs / "compositor_io.safetensors");
  const torch::Tensor x = io.tensor("x").requires_grad_(true), t = io.tensor("t").requires_grad_(true);

  Compositor compositor(x.size(1), t.size(1), /*heads=*/4);
  compositor->to(torch::kDouble);
  // Strict: the reference's names are the authors', so every one must match.
  load_state_strict(*compositor, outputs / "compositor.safetensors");

  const torch::Tensor out = compositor(x, t);
  EXPECT_LT(test::max_abs_diff(out, io.tensor("out")), 1e-10);
  (out * io.tensor("upstream")).sum().backward();
  EXPECT_LT(test::max_abs_diff(x.grad(), io.tensor("grad_x")), 1e-10);
  EXPECT_LT(test::max_abs_diff(t.grad(), io.tensor("grad_t")), 1e-10);
  const auto params = compositor->named_parameters();
  EXPECT_LT(test::max_abs_diff(params["weights"].grad(), io.tensor("grad_weights")), 1e-10);
  EXPECT_LT(test::max_abs_diff(params["global_styler.gate.linear.weight_orig"].grad(),
                               io.tensor("grad_gate_weight_orig")),
            1e-10);
  EXPECT_LT(
      test::max_abs_diff(params["att_module2.self_att_generator.W_q.weight"].grad(), io.tensor("grad_W_q")),
      1e-10);
}

TEST(Compositor, ParameterNamesAreTheAuthors) {
  Compositor compositor(16, 8, 2);
  std::set<std::string> names;
  for (const auto& p : compositor->named_parameters()) names.insert(p.key());
  std::set<std::string> expected{"weights"};
  for (const std::string module : {"att_module", "att_module2"})
    for (const std::string name : {"merge.weight", "W_v.weight", "W_r.weight", "W_r.bias",
                                   "self_att_generator.W_q.weight", "self_att_generator.W_k.weight",
                                   "global_att_generator.W_t.weight", "global_att_generator.W_t.bias"})
      expected.insert(module + "." + name);
  for (const std::string name : {"global_transform", "gate"})
    for (const std::string p : {"linear.weight_orig", "linear.bias"})
      expected.insert("global_styler." + name + "." + p);
  EXPECT_EQ(names, expected);
}

TEST(Compositor, StylerStartsAtUnitScaleWithUnscaledStoredWeights) {
  torch::manual_seed(0);
  Compositor compositor(64, 32, 8);
  auto params = compositor->named_parameters();
  const torch::Tensor bias = params["global_styler.global_transform.linear.bias"];
  EXPECT_TRUE(torch::equal(bias.narrow(0, 0, 64), torch::ones({64})));
  EXPECT_TRUE(torch::equal(bias.narrow(0, 64, 64), torch::zeros({64})));
  EXPECT_TRUE(torch::equal(params["global_styler.gate.linear.bias"], torch::zeros({128})));
  EXPECT_TRUE(torch::equal(params["weights"], torch::ones({2})));
  // weight_orig ~ N(0, 1): the stored weight is the unscaled one.
  const torch::Tensor w = params["global_styler.gate.linear.weight_orig"];
  EXPECT_NEAR(w.std().item<double>(), 1.0, 0.05);
  EXPECT_EQ(w.sizes(), (std::vector<std::int64_t>{128, 32}));
}

TEST(Compositor, KeepsTheMapShapeAndRefusesHeadsThatDoNotDivide) {
  Compositor compositor(16, 8, 4);
  const torch::Tensor out = compositor(torch::randn({3, 16, 2, 5}), torch::randn({3, 8}));
  EXPECT_EQ(out.sizes(), (std::vector<std::int64_t>{3, 16, 2, 5}));
  EXPECT_THROW(Compositor(18, 8, 4), Error);
  EXPECT_THROW(compositor(torch::randn({3, 16, 2, 5}), torch::randn({2, 8})), Error);
}

}  // namespace
}  // namespace cir::model
