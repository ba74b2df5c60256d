// The one place that knows which backends this build has.
#include "workers/comm_backend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "common/collective_watch.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/mpi.hpp"
#include "workers/mpi_backend.hpp"
#ifdef CIR_WITH_NCCL
#include "workers/nccl/nccl_backend.hpp"
#endif

namespace cir::workers {
namespace {

int rank_in(MPI_Comm comm) {
  int rank = 0;
  mpi::check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank", comm);
  return rank;
}

// Logs `message` (info) on rank 0 of `comm`, once per process: every trial
// makes its backends anew, and the choice rarely changes between them.
void note_choice(MPI_Comm comm, const std::string& message) {
  if (rank_in(comm) != 0) return;
  static std::mutex mutex;
  static std::set<std::string> logged;
  const std::lock_guard lock(mutex);
  if (logged.insert(message).second) log::info("{}", message);
}

#ifdef CIR_WITH_NCCL
GpuKey this_gpu(int device) {
  char host[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  mpi::check(MPI_Get_processor_name(host, &length), "MPI_Get_processor_name");
  return {.host = std::string(host, static_cast<std::size_t>(length)), .bus_id = nccl::pci_bus_id(device)};
}
#endif

}  // namespace

std::vector<GpuKey> all_gpu_keys(MPI_Comm comm, const GpuKey& mine) {
  // One fixed-size record per rank: the host, then the bus id, each ended by
  // at least one NUL.
  constexpr std::size_t host_bytes = MPI_MAX_PROCESSOR_NAME, bus_bytes = 64;
  constexpr std::size_t record = host_bytes + bus_bytes;
  if (mine.host.size() >= host_bytes || mine.bus_id.size() >= bus_bytes)
    throw Error(fmt::format("a GPU named by host '{}' and bus id '{}' is too long a name to exchange",
                            mine.host, mine.bus_id),
                Where{.rank = rank_in(comm)});
  std::vector<char> local(record, '\0');
  std::copy(mine.host.begin(), mine.host.end(), local.begin());
  std::copy(mine.bus_id.begin(), mine.bus_id.end(), local.begin() + host_bytes);
  int size = 0;
  mpi::check(MPI_Comm_size(comm, &size), "MPI_Comm_size", comm);
  std::vector<char> all(record * static_cast<std::size_t>(size));
  mpi::collective(
      comm, "MPI_Iallgather",
      [&](MPI_Request* r) {
        return MPI_Iallgather(local.data(), static_cast<int>(record), MPI_CHAR, all.data(),
                              static_cast<int>(record), MPI_CHAR, comm, r);
      },
      [&] {
        return std::pair{std::move(local), std::move(all)};
      });
  std::vector<GpuKey> keys;
  for (std::size_t r = 0; r < static_cast<std::size_t>(size); ++r) {
    const char* at = all.data() + r * record;
    keys.push_back({.host = std::string(at), .bus_id = std::string(at + host_bytes)});
  }
  return keys;
}

std::optional<std::pair<int, int>> ranks_sharing_a_gpu(const std::vector<GpuKey>& keys) {
  for (std::size_t later = 1; later < keys.size(); ++later)
    for (std::size_t earlier = 0; earlier < later; ++earlier)
      if (keys[earlier] == keys[later]) return std::pair{static_cast<int>(earlier), static_cast<int>(later)};
  return std::nullopt;
}

std::unique_ptr<CommBackend> make_backend(MPI_Comm comm, torch::Device device) {
  if (!device.is_cuda()) return std::make_unique<MpiBackend>(comm);
#ifdef CIR_WITH_NCCL
  const std::vector<GpuKey> keys = all_gpu_keys(comm, this_gpu(device.index()));
  if (const auto shared = ranks_sharing_a_gpu(keys)) {
    const GpuKey& gpu = keys[static_cast<std::size_t>(shared->first)];
    note_choice(comm,
                fmt::format("CUDA tensors go through host memory and MPI, not NCCL: ranks {} and {} of the "
                            "group share the GPU {} on {} (more ranks on the node than GPUs), which NCCL "
                            "refuses",
                            shared->first, shared->second, gpu.bus_id, gpu.host));
    return std::make_unique<MpiBackend>(comm);
  }
  note_choice(comm,
              fmt::format("CUDA tensors go through NCCL: the {} rank(s) of the group each have a GPU of "
                          "their own",
                          keys.size()));
  return std::make_unique<nccl::NcclBackend>(comm, device.index());
#else
  note_choice(comm,
              "CUDA tensors go through host memory and MPI: this build has no NCCL backend (configure with "
              "-DCIR_WITH_NCCL=ON)");
  return std::make_unique<MpiBackend>(comm);
#endif
}

}  // namespace cir::workers
