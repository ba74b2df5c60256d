// The MPI backend of Comm (workers/comm_backend.hpp): CPU tensors directly,
// tensors on other devices (CUDA without NCCL) copied to host memory and
// back. Sums take float, double and integer dtypes; larger messages go in
// pieces, since MPI counts are int.
#pragma once

#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "workers/comm_backend.hpp"

namespace cir::workers {

class MpiBackend final : public CommBackend {
 public:
  // Uses `comm` (not owned).
  explicit MpiBackend(MPI_Comm comm);

  std::string_view name() const override { return "mpi"; }
  bool sums_call_mpi() const override { return true; }
  void all_reduce_sum_(torch::Tensor& tensor) override;
  std::unique_ptr<PendingOp> all_reduce_sum_async(torch::Tensor& tensor) override;
  void broadcast_(torch::Tensor& tensor, int root) override;
  torch::Tensor all_gather(const torch::Tensor& local, const std::vector<std::int64_t>& counts) override;
  torch::Tensor gather(const torch::Tensor& local, const std::vector<std::int64_t>& counts,
                       int root) override;
  torch::Tensor reduce_scatter_rows(const torch::Tensor& full,
                                    const std::vector<std::int64_t>& counts) override;

 private:
  MPI_Comm comm_;
  int rank_ = 0;
};

}  // namespace cir::workers
