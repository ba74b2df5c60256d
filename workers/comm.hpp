// Collective communication over one trial's group of ranks.
//
// A Comm wraps the group's MPI communicator (it does not own it) and moves
// tensors between the ranks: sums, broadcasts and row-wise gathers. The
// tensors of each device go through that device's backend
// (workers/comm_backend.hpp), made once per device on first use and shared
// by the copies of the Comm: MPI for CPU tensors; NCCL for CUDA tensors in a
// build with CIR_WITH_NCCL when every rank has a GPU of its own, otherwise
// MPI through host memory (make_backend() says why). Every method
// is a collective: all ranks of the group call it in the same order with
// matching shapes.
//
// all_gather_rows() is the differentiable gather the trainer uses so that
// InfoNCE and the augmenter see the global batch; its comment says how its
// backward makes N-rank training equal 1-rank training.
#pragma once

#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "workers/comm_backend.hpp"

namespace cir::workers {

class Comm {
 public:
  // Wraps `comm` (not owned; it must outlive every copy of this Comm).
  explicit Comm(MPI_Comm comm);
  // From TrialContext::group_comm_f (an MPI_Comm_c2f handle).
  static Comm from_fortran(int handle);

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool leader() const { return rank_ == 0; }
  MPI_Comm mpi() const { return comm_; }

  // The backend of the tensors on `device`, made by make_backend() the first
  // time any copy of this Comm asks (a collective then, for CUDA in a build
  // with NCCL).
  CommBackend& backend(torch::Device device) const;

  // Sums `tensor` over the group, in place. Floating and integer dtypes.
  void all_reduce_sum_(torch::Tensor& tensor) const;
  // Starts the same sum without waiting; `tensor` must stay alive and
  // untouched until the returned operation's wait() returns.
  std::unique_ptr<PendingOp> all_reduce_sum_async(torch::Tensor& tensor) const;
  // Replaces `tensor` by root's, in place (same shape and dtype everywhere).
  void broadcast_(torch::Tensor& tensor, int root = 0) const;

  // The number of rows (size(0)) of `local` on every rank, in rank order.
  std::vector<std::int64_t> row_counts(const torch::Tensor& local) const;
  // Every rank's rows of `local` concatenated in rank order, on every rank.
  // Ranks may hold different numbers of rows; the other dimensions and the
  // dtype must agree.
  torch::Tensor all_gather(const torch::Tensor& local) const;
  // The same with the row counts already known (from row_counts()).
  torch::Tensor all_gather(const torch::Tensor& local, const std::vector<std::int64_t>& counts) const;
  // The same concatenation on `root` only; the other ranks get an undefined
  // tensor. Used to bring sharded evaluation features to the leader.
  torch::Tensor gather(const torch::Tensor& local, int root = 0) const;
  // The sum over ranks of `full` (same shape on every rank, rows split by
  // `counts` in rank order), of which this rank gets its own rows.
  torch::Tensor reduce_scatter_rows(const torch::Tensor& full, const std::vector<std::int64_t>& counts) const;

  void barrier() const;

 private:
  struct Backends;
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::shared_ptr<Backends> backends_;  // by device, shared by the copies
};

// Every rank's rows of `local` concatenated in rank order, differentiable.
//
// Backward. Every rank computes the same global loss L from the gathered
// X = [x_0; …; x_{N-1}] (x_r: rank r's rows). On rank r, autograd only sees
// x_r as a function of the parameters (the other rows arrived as data), so
// the parameter gradient rank r can form is (dL/dx_r)(dx_r/dθ), and the
// gradient of L is the SUM over ranks of these. This backward returns this
// rank's rows of the gradient summed over the group (a reduce-scatter):
// Σ_s dL_s/dx_r = N·dL/dx_r, because every L_s is the same L. Every gradient
// on rank r is therefore N times its share, uniformly — also through the
// synchronised batch norm (model/batch_norm.hpp) — and GradientSync's average
// over ranks (Σ_r N·g_r / N = Σ_r g_r) gives exactly the 1-rank gradient of
// L at the same global batch. Summing rather than taking the local slice also
// keeps the result right when ranks compute different partial losses whose
// sum is the objective (then use GradientSync with average = false).
torch::Tensor all_gather_rows(const Comm& comm, const torch::Tensor& local);

}  // namespace cir::workers
