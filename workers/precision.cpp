#include "workers/precision.hpp"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace cir::workers {

namespace {

// LibTorch 2.4 replaced the per-device autocast switches by ones that take
// the device type; 1.13 (Debian's) has only the per-device ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(torch::DeviceType type) { return at::autocast::is_autocast_enabled(type); }
void set_autocast(torch::DeviceType type, bool enabled) { at::autocast::set_autocast_enabled(type, enabled); }
at::ScalarType autocast_dtype(torch::DeviceType type) { return at::autocast::get_autocast_dtype(type); }
void set_autocast_dtype(torch::DeviceType type, at::ScalarType dtype) {
  at::autocast::set_autocast_dtype(type, dtype);
}
#else
bool autocast_enabled(torch::DeviceType type) {
  return type == torch::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
void set_autocast(torch::DeviceType type, bool enabled) {
  if (type == torch::kCUDA) {
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_cpu_enabled(enabled);
  }
}
at::ScalarType autocast_dtype(torch::DeviceType type) {
  return type == torch::kCUDA ? at::autocast::get_autocast_gpu_dtype()
                              : at::autocast::get_autocast_cpu_dtype();
}
void set_autocast_dtype(torch::DeviceType type, at::ScalarType dtype) {
  if (type == torch::kCUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
}
#endif

}  // namespace

Precision precision_of(const Params& params) {
  const std::string name = params.get(keys::train::precision);
  if (name == "tf32") return Precision::tf32;
  if (name == "bf16") return Precision::bf16;
  return Precision::fp32;
}

void apply_matmul_precision(Precision precision) {
  const bool tf32 = precision == Precision::tf32;
  at::globalContext().setAllowTF32CuBLAS(tf32);
  at::globalContext().setAllowTF32CuDNN(tf32);
}

Float32MatmulScope::Float32MatmulScope() : was_tf32_(at::globalContext().allowTF32CuBLAS()) {
  at::globalContext().setAllowTF32CuBLAS(false);
}

Float32MatmulScope::~Float32MatmulScope() { at::globalContext().setAllowTF32CuBLAS(was_tf32_); }

AutocastScope::AutocastScope(Precision precision, torch::Device device)
    : active_(precision == Precision::bf16), device_type_(device.type()) {
  if (!active_) return;
  was_enabled_ = autocast_enabled(device_type_);
  was_dtype_ = autocast_dtype(device_type_);
  set_autocast_dtype(device_type_, at::kBFloat16);
  set_autocast(device_type_, true);
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  set_autocast(device_type_, was_enabled_);
  set_autocast_dtype(device_type_, was_dtype_);
  // The casts of the weights cached during the forward pass: the next
  // step's weights differ.
  if (!was_enabled_) at::autocast::clear_cache();
}

}  // namespace cir::workers
