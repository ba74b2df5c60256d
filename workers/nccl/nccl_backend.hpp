// The NCCL backend of Comm (workers/comm_backend.hpp), compiled only with
// CIR_WITH_NCCL and chosen by make_backend() for CUDA devices when no two
// ranks of the communicator share a GPU. No NCCL or CUDA types appear here.
//
// Collectives are enqueued on the legacy default CUDA stream, which is
// LibTorch's current stream unless a caller installed another, so they are
// ordered after the kernels that produced their inputs. The asynchronous
// all-reduce runs on a side stream that first waits for the default stream
// and that the default stream waits for in wait(), so the host never blocks.
// Gathers and scatters of unequal row counts, and gathers to one rank, go
// through the MPI backend (host memory).
#pragma once

#include <mpi.h>
#include <torch/torch.h>

#include <memory>
#include <string>

#include "workers/mpi_backend.hpp"

namespace cir::workers::nccl {

// The PCI bus id of CUDA device `device` ("0000:3B:00.0"), by which NCCL
// tells GPUs apart on a host.
std::string pci_bus_id(int device);

// One NCCL communicator spanning the ranks of an MPI communicator, on one
// CUDA device. Creating it is a collective over `comm`: rank 0 makes the
// ncclUniqueId and broadcasts it with MPI.
class NcclBackend final : public CommBackend {
 public:
  NcclBackend(MPI_Comm comm, int device);
  ~NcclBackend() override;
  NcclBackend(const NcclBackend&) = delete;
  NcclBackend& operator=(const NcclBackend&) = delete;

  std::string_view name() const override { return "nccl"; }
  bool sums_call_mpi() const override { return false; }
  void all_reduce_sum_(torch::Tensor& tensor) override;
  std::unique_ptr<PendingOp> all_reduce_sum_async(torch::Tensor& tensor) override;
  void broadcast_(torch::Tensor& tensor, int root) override;
  torch::Tensor all_gather(const torch::Tensor& local, const std::vector<std::int64_t>& counts) override;
  torch::Tensor gather(const torch::Tensor& local, const std::vector<std::int64_t>& counts,
                       int root) override;
  torch::Tensor reduce_scatter_rows(const torch::Tensor& full,
                                    const std::vector<std::int64_t>& counts) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
  int device_;
  MpiBackend staged_;  // what NCCL does not cover
};

}  // namespace cir::workers::nccl
