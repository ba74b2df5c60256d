// Collective communication over one trial's group of ranks.
//
// A Comm wraps the group's MPI communicator (it does not own it) and moves
// tensors between the ranks: sums, broadcasts and row-wise gathers. CPU
// tensors go through MPI. CUDA tensors go through NCCL when cir is built with
// CIR_WITH_NCCL (one NCCL communicator per device, created on first use by
// broadcasting an ncclUniqueId over the MPI communicator), otherwise they are
// staged through host memory and MPI. Every method is a collective: all ranks
// of the group call it in the same order with matching shapes.
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

namespace cir::workers {

// A non-blocking collective in flight; wait() completes it. Destroying a
// pending operation that was not waited for waits for it.
class PendingOp {
 public:
  virtual ~PendingOp() = default;
  // True once the operation has completed; lets MPI make progress.
  virtual bool test() = 0;
  // Blocks until the result is in the tensor the operation was started on
  // (for CUDA tensors: until later work on the current stream sees it).
  virtual void wait() = 0;
};

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
  struct Nccl;
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::shared_ptr<Nccl> nccl_;  // lazily created NCCL communicators (CIR_WITH_NCCL)
  friend struct CommAccess;
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
