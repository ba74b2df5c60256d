// train.precision: bf16 runs a forward pass under autocast on the CPU (so CI
// covers it) and leaves the autocast state as it found it; fp32 and tf32
// leave CPU tensors in float32.
#include <gtest/gtest.h>

#include "common/params.hpp"
#include "workers/precision.hpp"

namespace {

using cir::workers::AutocastScope;
using cir::workers::Precision;

torch::Tensor linear_output() {
  torch::manual_seed(0);
  torch::nn::Linear linear(16, 8);
  return linear->forward(torch::randn({4, 16}));
}

TEST(Precision, Bf16RunsTheForwardPassInBfloat16AndRestoresAutocast) {
  {
    const AutocastScope autocast(Precision::bf16, torch::kCPU);
    EXPECT_EQ(linear_output().scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(linear_output().scalar_type(), torch::kFloat);
}

TEST(Precision, Fp32AndTf32LeaveCpuTensorsInFloat32) {
  for (const Precision precision : {Precision::fp32, Precision::tf32}) {
    const AutocastScope autocast(precision, torch::kCPU);
    EXPECT_EQ(linear_output().scalar_type(), torch::kFloat);
  }
}

TEST(Precision, ReadFromTheTrialsParameters) {
  EXPECT_EQ(cir::workers::precision_of(cir::Params(R"({"train.precision":"bf16"})", "t")), Precision::bf16);
  EXPECT_EQ(cir::workers::precision_of(cir::Params(R"({"train.precision":"tf32"})", "t")), Precision::tf32);
  EXPECT_EQ(cir::workers::precision_of(cir::Params(R"({"train.precision":"fp32"})", "t")), Precision::fp32);
}

}  // namespace
