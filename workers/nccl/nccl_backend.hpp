// The NCCL half of Comm, compiled only with CIR_WITH_NCCL. No NCCL or CUDA
// types appear here so that comm.cpp builds the same way with and without it.
//
// Collectives are enqueued on the legacy default CUDA stream, which is
// LibTorch's current stream unless a caller installed another, so they are
// ordered after the kernels that produced their inputs. The asynchronous
// all-reduce runs on a side stream that first waits for the default stream
// and that the default stream waits for in wait(), so the host never blocks.
#pragma once

#include <mpi.h>
#include <torch/torch.h>

#include <memory>

#include "workers/comm.hpp"

namespace cir::workers::nccl {

// One NCCL communicator spanning the ranks of an MPI communicator, on one
// CUDA device. Creating it is a collective over `comm`: rank 0 makes the
// ncclUniqueId and broadcasts it with MPI.
class Communicator {
 public:
  Communicator(MPI_Comm comm, int device);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int device() const { return device_; }
  void all_reduce_sum_(torch::Tensor& tensor);
  std::unique_ptr<PendingOp> all_reduce_sum_async(torch::Tensor& tensor);
  void broadcast_(torch::Tensor& tensor, int root);
  // Equal row counts on every rank: `out` has size() × local's rows.
  void all_gather(const torch::Tensor& local, torch::Tensor& out);
  // Equal row counts on every rank: `out` has full's rows ÷ size().
  void reduce_scatter_sum(const torch::Tensor& full, torch::Tensor& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
  int device_;
};

}  // namespace cir::workers::nccl
