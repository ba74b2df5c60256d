#include "workers/device_feed.hpp"

#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

namespace cir::workers {

// The device half goes through c10's device-generic streams and events,
// which a CPU-only LibTorch has too: this file compiles the same in every
// build, and only a GPU at run time takes the branches past is_cpu().

datasets::BatchMemory host_memory_for(torch::Device device) {
  return device.is_cuda() ? datasets::BatchMemory::pinned : datasets::BatchMemory::pageable;
}

DeviceCopies::DeviceCopies(torch::Device device) : device_(device) {
  if (device_.is_cpu()) return;
  side_ = c10::impl::VirtualGuardImpl(device_.type()).getStreamFromGlobalPool(device_);
}

DeviceCopies::Pending DeviceCopies::start(const std::vector<torch::Tensor*>& tensors) const {
  if (!side_) return {};
  {
    const c10::StreamGuard on_side(*side_);
    for (torch::Tensor* tensor : tensors)
      *tensor = tensor->to(device_, tensor->scalar_type(), /*non_blocking=*/true);
  }
  Pending pending;
  pending.done.emplace(device_.type());
  pending.done->record(*side_);
  return pending;
}

void DeviceCopies::finish(const Pending& pending, const std::vector<torch::Tensor*>& tensors) const {
  if (!pending.done) return;
  const c10::Stream current = c10::impl::VirtualGuardImpl(device_.type()).getStream(device_);
  pending.done->block(current);
  for (torch::Tensor* tensor : tensors) tensor->record_stream(current);
}

}  // namespace cir::workers
