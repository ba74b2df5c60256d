// A trial's numeric precision (train.precision, common/keys.hpp):
//   fp32  every operation in float32 (the authors' setting);
//   tf32  float32 tensors, matrix products and convolutions on CUDA in
//         TensorFloat-32 (on CPU the same as fp32);
//   bf16  forward passes under LibTorch's autocast to bfloat16 on the
//         trial's device (CPU autocast included), with float32 master
//         weights, optimizer state, features, loss and augmenter statistics.
#pragma once

#include <torch/torch.h>

#include "common/params.hpp"

namespace cir::workers {

enum class Precision { fp32, tf32, bf16 };

Precision precision_of(const Params& params);

// Sets the process's TF32 switches for the trial (on for tf32, off
// otherwise): every trial sets them, so none inherits another's.
void apply_matmul_precision(Precision precision);

// Matrix products in full float32 while it lives (cuBLAS's TF32 switch
// off), whatever the trial's precision: evaluation ranks by exact float32
// scores. Restores the switch when it ends.
class Float32MatmulScope {
 public:
  Float32MatmulScope();
  ~Float32MatmulScope();
  Float32MatmulScope(const Float32MatmulScope&) = delete;
  Float32MatmulScope& operator=(const Float32MatmulScope&) = delete;

 private:
  bool was_tf32_;
};

// Forward passes inside it run under bf16 autocast on `device` when the
// precision is bf16; otherwise it changes nothing. Restores the previous
// autocast state when it ends.
class AutocastScope {
 public:
  AutocastScope(Precision precision, torch::Device device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  torch::DeviceType device_type_ = torch::kCPU;
  bool was_enabled_ = false;
  at::ScalarType was_dtype_ = at::kBFloat16;
};

}  // namespace cir::workers
