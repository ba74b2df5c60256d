// Data-parallel gradient synchronisation: bucketed, non-blocking all-reduce
// started from autograd hooks while backward is still running.
//
// Parameters are packed, in reverse registration order (roughly the order in
// which backward produces their gradients), into buckets of about
// `bucket_bytes` (one device and dtype each), and each parameter's .grad
// becomes its slot of its bucket (its value kept), so backward accumulates
// straight into the buckets. A hook after every parameter's gradient
// accumulation counts it in; when a bucket is complete it is summed over
// the group without blocking (MPI_Iallreduce for CPU tensors; for CUDA
// tensors NCCL on a side stream, or MPI through host memory, as
// workers/comm_backend.hpp chooses). Buckets are started strictly in bucket
// order so every rank issues the same collectives in the same order.
// complete() starts what is left (parameters that got no gradient this step
// contribute their current .grad, zeros if none), waits, and leaves in each
// parameter's .grad:
//   .grad = (Σ_ranks .grad) / size   (average = true, the default)
//   .grad =  Σ_ranks .grad           (average = false)
// — what a plain all-reduce of every .grad after backward gives (bit for bit
// on 2 ranks, where a sum has one order; with more ranks MPI may pick
// another summation order for a bucket than for a single tensor).
// Average is the right choice with all_gather_rows (see comm.hpp): every
// rank's gradient is then N times its share of the global loss's gradient.
//
// Use: construct once after the model exists; per step, backward() once,
// then complete(), then the optimiser step. A second backward before complete()
// is refused (gradient accumulation across steps is not supported). In a
// group of one rank there is nothing to sum: no hooks, and complete() returns.
// Code that replaces a .grad (rather than updating it in place) costs a copy
// back into the bucket; the result is the same.
#pragma once

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/torch.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "workers/comm.hpp"

namespace cir::workers {

inline constexpr std::size_t kDefaultBucketBytes = std::size_t{25} << 20;

class GradientSync {
 public:
  // `params` that do not require gradients are ignored; the others must be
  // leaves. Throws cir::Error otherwise, or when CUDA parameters would need
  // MPI from autograd's device threads (their device's backend sums through
  // MPI: builds without NCCL, or ranks sharing a GPU) and MPI was not initialised with at least
  // MPI_THREAD_SERIALIZED.
  GradientSync(const Comm& comm, std::vector<torch::Tensor> params,
               std::size_t bucket_bytes = kDefaultBucketBytes, bool average = true);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Completes this step's reduction and writes the gradients (see above).
  void complete();

  std::size_t bucket_count() const { return buckets_.size(); }
  // For the last completed step, one entry per bucket in the order they were
  // started: how many parameter gradients had arrived at that moment. Values
  // below the parameter count mean the bucket was started during backward.
  const std::vector<std::size_t>& launch_points() const { return last_launch_points_; }

 private:
  struct Bucket {
    torch::Tensor buffer;              // flat, the bucket's device and dtype
    std::vector<std::size_t> entries;  // its parameters
    std::size_t ready = 0;
    std::unique_ptr<PendingOp> pending;
  };

  // Runs after AccumulateGrad of one parameter.
  struct Arrived final : torch::autograd::FunctionPostHook {
    Arrived(GradientSync& owner, std::size_t param) : owner(&owner), param(param) {}
    torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                              const torch::autograd::variable_list& inputs) override;
    GradientSync* owner;
    std::size_t param;
  };

  // Makes the parameter's .grad its slot again, moving a replaced value in.
  void adopt(std::size_t param);
  void on_gradient(std::size_t param);
  void launch_ready();

  Comm comm_;
  bool average_;
  std::vector<torch::Tensor> params_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;  // hold our post hooks
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> bucket_of_;  // parameter → bucket
  std::vector<torch::Tensor> slots_;    // parameter → its view of its bucket
  std::vector<bool> arrived_;
  std::size_t arrived_count_ = 0;
  std::size_t next_launch_ = 0;
  std::vector<std::size_t> launch_points_, last_launch_points_;
  std::mutex mutex_;
};

}  // namespace cir::workers
