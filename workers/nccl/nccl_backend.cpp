#include "workers/nccl/nccl_backend.hpp"

#include <cuda_runtime.h>
#include <fmt/format.h>
#include <nccl.h>

#include <algorithm>

#include "common/error.hpp"
#include "common/mpi.hpp"

namespace cir::workers::nccl {
namespace {

void check_cuda(cudaError_t rc, const char* call) {
  if (rc != cudaSuccess) throw Error(fmt::format("{} failed: {}", call, cudaGetErrorString(rc)));
}

void check_nccl(ncclResult_t rc, const char* call) {
  if (rc != ncclSuccess)
    throw Error(fmt::format("{} failed: {}", call, ncclGetErrorString(rc)), {},
                "NCCL_DEBUG=INFO in the environment makes NCCL say more");
}

ncclDataType_t sum_type(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat:
      return ncclFloat32;
    case torch::kDouble:
      return ncclFloat64;
    case torch::kHalf:
      return ncclFloat16;
    case torch::kBFloat16:
      return ncclBfloat16;
    case torch::kLong:
      return ncclInt64;
    case torch::kInt:
      return ncclInt32;
    case torch::kChar:
      return ncclInt8;
    case torch::kByte:
      return ncclUint8;
    default:
      throw Error(fmt::format("NCCL cannot sum tensors of dtype {}", c10::toString(dtype)));
  }
}

// Makes `device` current for its lifetime.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    check_cuda(cudaGetDevice(&previous_), "cudaGetDevice");
    if (device != previous_) check_cuda(cudaSetDevice(device), "cudaSetDevice");
  }
  ~DeviceGuard() { cudaSetDevice(previous_); }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

// LibTorch's current stream unless a caller installed another.
cudaStream_t torch_stream() { return cudaStreamLegacy; }

class NcclPending final : public PendingOp {
 public:
  NcclPending(torch::Tensor tensor, cudaEvent_t done, int device)
      : tensor_(std::move(tensor)), done_(done), device_(device) {}
  ~NcclPending() override {
    if (!waited_) {
      int previous = 0;
      cudaGetDevice(&previous);
      cudaSetDevice(device_);
      cudaStreamWaitEvent(torch_stream(), done_, 0);
      cudaSetDevice(previous);
    }
    cudaEventDestroy(done_);
  }
  bool test() override { return cudaEventQuery(done_) == cudaSuccess; }
  void wait() override {
    DeviceGuard guard(device_);
    check_cuda(cudaStreamWaitEvent(torch_stream(), done_, 0), "cudaStreamWaitEvent");
    waited_ = true;
  }

 private:
  torch::Tensor tensor_;  // kept alive until later work on the torch stream is ordered after the sum
  cudaEvent_t done_;
  int device_;
  bool waited_ = false;
};

void require_contiguous_cuda(const torch::Tensor& t, const char* what) {
  if (!t.is_cuda() || !t.is_contiguous())
    throw Error(fmt::format("NCCL {} needs a contiguous CUDA tensor", what));
}

bool all_equal(const std::vector<std::int64_t>& counts) {
  return std::all_of(counts.begin(), counts.end(), [&](std::int64_t c) { return c == counts.front(); });
}

}  // namespace

std::string pci_bus_id(int device) {
  char id[64] = {};
  check_cuda(cudaDeviceGetPCIBusId(id, static_cast<int>(sizeof id), device), "cudaDeviceGetPCIBusId");
  return id;
}

struct NcclBackend::State {
  ncclComm_t comm = nullptr;
  cudaStream_t side = nullptr;
  int rank = 0, size = 1;
};

NcclBackend::NcclBackend(MPI_Comm comm, int device)
    : state_(std::make_unique<State>()), device_(device), staged_(comm) {
  mpi::check(MPI_Comm_rank(comm, &state_->rank), "MPI_Comm_rank", comm);
  mpi::check(MPI_Comm_size(comm, &state_->size), "MPI_Comm_size", comm);
  ncclUniqueId id;
  if (state_->rank == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  mpi::check(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, comm), "MPI_Bcast", comm);
  DeviceGuard guard(device_);
  check_nccl(ncclCommInitRank(&state_->comm, state_->size, id, state_->rank), "ncclCommInitRank");
  check_cuda(cudaStreamCreateWithFlags(&state_->side, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
}

NcclBackend::~NcclBackend() {
  DeviceGuard guard(device_);
  if (state_->side) cudaStreamDestroy(state_->side);
  if (state_->comm) ncclCommDestroy(state_->comm);
}

void NcclBackend::all_reduce_sum_(torch::Tensor& tensor) {
  torch::Tensor work = tensor.contiguous();
  DeviceGuard guard(device_);
  check_nccl(ncclAllReduce(work.data_ptr(), work.data_ptr(), static_cast<std::size_t>(work.numel()),
                           sum_type(work.scalar_type()), ncclSum, state_->comm, torch_stream()),
             "ncclAllReduce");
  if (!work.is_same(tensor)) tensor.copy_(work);
}

std::unique_ptr<PendingOp> NcclBackend::all_reduce_sum_async(torch::Tensor& tensor) {
  require_contiguous_cuda(tensor, "asynchronous all-reduce");
  DeviceGuard guard(device_);
  cudaEvent_t ready = nullptr, done = nullptr;
  check_cuda(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  check_cuda(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  // The side stream starts once the gradient is written on the torch stream.
  check_cuda(cudaEventRecord(ready, torch_stream()), "cudaEventRecord");
  check_cuda(cudaStreamWaitEvent(state_->side, ready, 0), "cudaStreamWaitEvent");
  cudaEventDestroy(ready);
  check_nccl(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), static_cast<std::size_t>(tensor.numel()),
                           sum_type(tensor.scalar_type()), ncclSum, state_->comm, state_->side),
             "ncclAllReduce");
  check_cuda(cudaEventRecord(done, state_->side), "cudaEventRecord");
  return std::make_unique<NcclPending>(tensor, done, device_);
}

void NcclBackend::broadcast_(torch::Tensor& tensor, int root) {
  torch::Tensor work = tensor.contiguous();
  DeviceGuard guard(device_);
  check_nccl(ncclBroadcast(work.data_ptr(), work.data_ptr(), static_cast<std::size_t>(work.nbytes()),
                           ncclUint8, root, state_->comm, torch_stream()),
             "ncclBroadcast");
  if (!work.is_same(tensor)) tensor.copy_(work);
}

torch::Tensor NcclBackend::all_gather(const torch::Tensor& local, const std::vector<std::int64_t>& counts) {
  if (!all_equal(counts)) return staged_.all_gather(local, counts);
  const torch::Tensor work = local.contiguous();
  torch::Tensor out = torch::empty(rows_shape(local, counts.front() * state_->size), local.options());
  require_contiguous_cuda(work, "all-gather");
  DeviceGuard guard(device_);
  check_nccl(ncclAllGather(work.data_ptr(), out.data_ptr(), static_cast<std::size_t>(work.nbytes()),
                           ncclUint8, state_->comm, torch_stream()),
             "ncclAllGather");
  return out;
}

torch::Tensor NcclBackend::gather(const torch::Tensor& local, const std::vector<std::int64_t>& counts,
                                  int root) {
  return staged_.gather(local, counts, root);
}

torch::Tensor NcclBackend::reduce_scatter_rows(const torch::Tensor& full,
                                               const std::vector<std::int64_t>& counts) {
  if (!all_equal(counts)) return staged_.reduce_scatter_rows(full, counts);
  const torch::Tensor work = full.contiguous();
  torch::Tensor out = torch::empty(rows_shape(full, counts.front()), full.options());
  require_contiguous_cuda(work, "reduce-scatter");
  DeviceGuard guard(device_);
  check_nccl(ncclReduceScatter(work.data_ptr(), out.data_ptr(), static_cast<std::size_t>(out.numel()),
                               sum_type(work.scalar_type()), ncclSum, state_->comm, torch_stream()),
             "ncclReduceScatter");
  return out;
}

}  // namespace cir::workers::nccl
