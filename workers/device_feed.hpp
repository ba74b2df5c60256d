// Batches on the trainer's device, one batch ahead of the caller.
//
// next() hands out batch k after asking the source for batch k+1 and, on a
// GPU, starting that batch's copies to the device on a side stream, so the
// copies run while the caller computes with batch k. The caller's stream
// waits for a batch's copies (an event) only when it gets the batch, and
// the batch's device tensors are then recorded as used on that stream, so
// the caching allocator does not give their memory to later copies while
// the caller's kernels still read it. The copies overlap only from pinned
// host memory: loaders make their batches there for a GPU
// (host_memory_for(), datasets/loader.hpp).
//
// On the CPU the batches are the source's, handed out unchanged and in
// order; only the source is asked one batch ahead. Every batch is a pure
// function of its index (datasets/loader.hpp), so asking ahead changes no
// value. An exception from the source is rethrown by the next() that would
// have returned its batch, after the batches before it, so errors arrive
// where they did without the look-ahead. After the source's end or an
// error, next() returns nothing without asking the source again.
#pragma once

#include <c10/core/Event.h>
#include <c10/core/Stream.h>
#include <torch/torch.h>

#include <exception>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "datasets/loader.hpp"

namespace cir::workers {

// Pinned host memory for batches bound to a CUDA device, ordinary otherwise.
datasets::BatchMemory host_memory_for(torch::Device device);

// The copies of batches' tensors to one device on a side stream of its own
// (DeviceFeed's device half; nothing at all on the CPU).
class DeviceCopies {
 public:
  explicit DeviceCopies(torch::Device device);

  // Copies under way: the event the caller's stream will wait for.
  struct Pending {
    std::optional<c10::Event> done;
  };
  // Replaces each tensor by its copy on the device, started on the side
  // stream without waiting for it.
  Pending start(const std::vector<torch::Tensor*>& tensors) const;
  // Makes the current stream of the device wait for the copies and records
  // the copied tensors as used on it.
  void finish(const Pending& pending, const std::vector<torch::Tensor*>& tensors) const;

 private:
  torch::Device device_;
  std::optional<c10::Stream> side_;  // none on the CPU
};

template <typename Batch>
class DeviceFeed {
 public:
  using Source = std::function<std::optional<Batch>()>;
  // The tensors of a batch that go to the device.
  using Tensors = std::function<std::vector<torch::Tensor*>(Batch&)>;

  DeviceFeed(torch::Device device, Source source, Tensors tensors)
      : copies_(device), source_(std::move(source)), tensors_(std::move(tensors)) {}

  std::optional<Batch> next() {
    if (!ahead_) ahead_ = fetch();
    Staged current = std::move(*ahead_);
    ahead_ = current.batch ? fetch() : Staged{};
    if (current.error) std::rethrow_exception(current.error);
    if (current.batch) copies_.finish(current.copies, tensors_(*current.batch));
    return std::move(current.batch);
  }

 private:
  struct Staged {
    std::optional<Batch> batch;  // none: the end, or an error
    std::exception_ptr error;
    DeviceCopies::Pending copies;
  };

  Staged fetch() {
    Staged staged;
    try {
      staged.batch = source_();
    } catch (...) {
      staged.error = std::current_exception();
      return staged;
    }
    if (staged.batch) staged.copies = copies_.start(tensors_(*staged.batch));
    return staged;
  }

  DeviceCopies copies_;
  Source source_;
  Tensors tensors_;
  std::optional<Staged> ahead_;  // none before the first next()
};

}  // namespace cir::workers
