// How Comm (workers/comm.hpp) moves the tensors of one device. A backend
// serves one device (the CPU, or one CUDA device) over one MPI communicator;
// Comm asks make_backend() for it once per device and forwards every
// collective on that device's tensors to it. Backends: MPI
// (workers/mpi_backend.hpp; CPU tensors, and CUDA tensors staged through host
// memory) and NCCL (workers/nccl/nccl_backend.hpp; CUDA tensors, only in
// builds with CIR_WITH_NCCL). A new backend implements CommBackend and is
// chosen in make_backend(); nothing else changes.
//
// Every method is a collective over the communicator, called by all ranks in
// the same order with matching shapes. Comm has checked the arguments.
#pragma once

#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

class CommBackend {
 public:
  virtual ~CommBackend() = default;

  // What carries the tensors: "mpi" or "nccl".
  virtual std::string_view name() const = 0;
  // Whether a sum calls MPI on the calling thread (then a thread other than
  // the one that initialised MPI needs MPI_THREAD_SERIALIZED or more).
  virtual bool sums_call_mpi() const = 0;

  // The operations of the same names in Comm; `counts` holds every rank's
  // number of rows, in rank order.
  virtual void all_reduce_sum_(torch::Tensor& tensor) = 0;
  virtual std::unique_ptr<PendingOp> all_reduce_sum_async(torch::Tensor& tensor) = 0;
  virtual void broadcast_(torch::Tensor& tensor, int root) = 0;
  virtual torch::Tensor all_gather(const torch::Tensor& local, const std::vector<std::int64_t>& counts) = 0;
  virtual torch::Tensor gather(const torch::Tensor& local, const std::vector<std::int64_t>& counts,
                               int root) = 0;
  virtual torch::Tensor reduce_scatter_rows(const torch::Tensor& full,
                                            const std::vector<std::int64_t>& counts) = 0;
};

// The shape of `rows` rows shaped like those of `t` (its dimensions after the
// first), for the results of gathers and scatters.
inline std::vector<std::int64_t> rows_shape(const torch::Tensor& t, std::int64_t rows) {
  std::vector<std::int64_t> shape(t.sizes().begin(), t.sizes().end());
  shape.front() = rows;
  return shape;
}

// What NCCL tells GPUs apart by: the host and the device's PCI bus id.
struct GpuKey {
  std::string host, bus_id;
  bool operator==(const GpuKey&) const = default;
};

// Every rank's key, in rank order, on every rank (a collective over `comm`).
std::vector<GpuKey> all_gpu_keys(MPI_Comm comm, const GpuKey& mine);

// Two ranks that would use the same GPU, which NCCL refuses ("Duplicate GPU
// detected"), if any: the first rank whose key an earlier rank has, and the
// first such earlier rank.
std::optional<std::pair<int, int>> ranks_sharing_a_gpu(const std::vector<GpuKey>& keys);

// The backend for tensors on `device` over `comm`: MPI for the CPU; for a
// CUDA device NCCL in a build with CIR_WITH_NCCL when no two ranks of `comm`
// use the same GPU, MPI through host memory otherwise (several ranks on one
// GPU: more ranks on a node than it has GPUs). For a CUDA device in a build
// with NCCL this is a collective over `comm` (every rank learns every rank's
// GpuKey, so all make the same choice); the choice and its reason are logged
// once per process (info, by rank 0 of `comm`).
std::unique_ptr<CommBackend> make_backend(MPI_Comm comm, torch::Device device);

}  // namespace cir::workers
