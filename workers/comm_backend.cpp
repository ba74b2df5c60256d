// The one place that knows which backends this build has.
#include "workers/comm_backend.hpp"

#include "workers/mpi_backend.hpp"
#ifdef CIR_WITH_NCCL
#include "workers/nccl/nccl_backend.hpp"
#endif

namespace cir::workers {

std::unique_ptr<CommBackend> make_backend(MPI_Comm comm, [[maybe_unused]] torch::Device device) {
#ifdef CIR_WITH_NCCL
  if (device.is_cuda()) return std::make_unique<nccl::NcclBackend>(comm, device.index());
#endif
  return std::make_unique<MpiBackend>(comm);
}

}  // namespace cir::workers
