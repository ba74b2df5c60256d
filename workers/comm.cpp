#include "workers/comm.hpp"

#include <fmt/format.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>

#include <climits>
#include <map>
#include <mutex>
#include <numeric>
#include <string>

#include "common/error.hpp"
#ifdef CIR_WITH_NCCL
#include "workers/nccl/nccl_backend.hpp"
#endif

namespace cir::workers {

struct Comm::Nccl {
#ifdef CIR_WITH_NCCL
  std::mutex mutex;
  std::map<int, std::unique_ptr<nccl::Communicator>> by_device;
#endif
};

namespace {

// Larger messages are sent in pieces of this many elements (MPI counts are int).
constexpr std::int64_t kMaxChunk = std::int64_t{1} << 30;

[[noreturn]] void fail(int rank, const std::string& message, const std::string& hint = {}) {
  throw Error(message, Where{.rank = rank}, hint);
}

void check_mpi(int rc, const char* call, int rank) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  fail(rank, fmt::format("{} failed: {}", call, std::string(text, static_cast<std::size_t>(length))));
}

MPI_Datatype sum_type(torch::ScalarType dtype, int rank) {
  switch (dtype) {
    case torch::kFloat:
      return MPI_FLOAT;
    case torch::kDouble:
      return MPI_DOUBLE;
    case torch::kLong:
      return MPI_INT64_T;
    case torch::kInt:
      return MPI_INT32_T;
    case torch::kShort:
      return MPI_INT16_T;
    case torch::kChar:
      return MPI_INT8_T;
    case torch::kByte:
      return MPI_UINT8_T;
    default:
      fail(rank, fmt::format("MPI cannot sum tensors of dtype {}", c10::toString(dtype)),
           "sum float, double or integer tensors (convert half precision to float first)");
  }
}

// A host copy of a CUDA tensor (or the contiguous tensor itself on the host)
// that MPI can work on; write_back() copies results into the original.
struct HostBuffer {
  torch::Tensor original, work;
  explicit HostBuffer(const torch::Tensor& tensor)
      : original(tensor),
        work(tensor.device().is_cpu() ? tensor.contiguous() : tensor.to(torch::kCPU).contiguous()) {}
  void write_back() {
    if (!work.is_same(original)) original.copy_(work);
  }
};

class MpiPending final : public PendingOp {
 public:
  MpiPending(HostBuffer buffer, std::vector<MPI_Request> requests, int rank)
      : buffer_(std::move(buffer)), requests_(std::move(requests)), rank_(rank) {}
  ~MpiPending() override {
    if (!done_) MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
  }
  bool test() override {
    if (done_) return true;
    int flag = 0;
    check_mpi(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &flag, MPI_STATUSES_IGNORE),
              "MPI_Testall", rank_);
    return flag != 0;
  }
  void wait() override {
    if (done_) return;
    done_ = true;
    check_mpi(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE),
              "MPI_Waitall", rank_);
    buffer_.write_back();
  }

 private:
  HostBuffer buffer_;
  std::vector<MPI_Request> requests_;
  int rank_;
  bool done_ = false;
};

// An MPI datatype of one row of `t` (all dimensions after the first), as
// bytes; freed on destruction.
class RowType {
 public:
  RowType(const torch::Tensor& t, int rank) {
    std::int64_t tail = 1;
    for (std::int64_t d = 1; d < t.dim(); ++d) tail *= t.size(d);
    const std::int64_t bytes = tail * static_cast<std::int64_t>(t.element_size());
    if (bytes > INT_MAX) fail(rank, fmt::format("a tensor row of {} bytes is too large to gather", bytes));
    check_mpi(MPI_Type_contiguous(static_cast<int>(bytes), MPI_BYTE, &type_), "MPI_Type_contiguous", rank);
    check_mpi(MPI_Type_commit(&type_), "MPI_Type_commit", rank);
  }
  ~RowType() { MPI_Type_free(&type_); }
  RowType(const RowType&) = delete;
  RowType& operator=(const RowType&) = delete;
  MPI_Datatype get() const { return type_; }

 private:
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
};

std::vector<std::int64_t> tail_shape(const torch::Tensor& t) {
  return std::vector<std::int64_t>(t.sizes().begin() + 1, t.sizes().end());
}

std::vector<int> as_int_counts(const std::vector<std::int64_t>& counts, int rank) {
  std::vector<int> out;
  for (std::int64_t c : counts) {
    if (c > INT_MAX) fail(rank, fmt::format("{} rows are too many to gather in one call", c));
    out.push_back(static_cast<int>(c));
  }
  return out;
}

std::vector<int> displacements(const std::vector<int>& counts) {
  std::vector<int> displs(counts.size(), 0);
  for (std::size_t i = 1; i < counts.size(); ++i) displs[i] = displs[i - 1] + counts[i - 1];
  return displs;
}

}  // namespace

// Gives the autograd nodes and GradientSync access to the NCCL communicators.
struct CommAccess {
#ifdef CIR_WITH_NCCL
  static nccl::Communicator& nccl(const Comm& comm, const torch::Tensor& t) {
    const int device = t.device().index();
    std::lock_guard<std::mutex> lock(comm.nccl_->mutex);
    auto& slot = comm.nccl_->by_device[device];
    if (!slot) slot = std::make_unique<nccl::Communicator>(comm.comm_, device);
    return *slot;
  }
#endif
};

Comm::Comm(MPI_Comm comm) : comm_(comm), nccl_(std::make_shared<Nccl>()) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) fail(-1, "Comm needs MPI, but MPI_Init has not been called");
  check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank", -1);
  check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size", rank_);
}

Comm Comm::from_fortran(int handle) { return Comm(MPI_Comm_f2c(handle)); }

void Comm::barrier() const { check_mpi(MPI_Barrier(comm_), "MPI_Barrier", rank_); }

void Comm::all_reduce_sum_(torch::Tensor& tensor) const {
#ifdef CIR_WITH_NCCL
  if (tensor.is_cuda()) return CommAccess::nccl(*this, tensor).all_reduce_sum_(tensor);
#endif
  HostBuffer buffer(tensor);
  const MPI_Datatype type = sum_type(tensor.scalar_type(), rank_);
  auto* data = static_cast<char*>(buffer.work.data_ptr());
  const std::int64_t n = buffer.work.numel();
  for (std::int64_t begin = 0; begin < n; begin += kMaxChunk) {
    const auto count = static_cast<int>(std::min(kMaxChunk, n - begin));
    check_mpi(
        MPI_Allreduce(MPI_IN_PLACE, data + begin * buffer.work.element_size(), count, type, MPI_SUM, comm_),
        "MPI_Allreduce", rank_);
  }
  buffer.write_back();
}

std::unique_ptr<PendingOp> Comm::all_reduce_sum_async(torch::Tensor& tensor) const {
#ifdef CIR_WITH_NCCL
  if (tensor.is_cuda()) return CommAccess::nccl(*this, tensor).all_reduce_sum_async(tensor);
#endif
  HostBuffer buffer(tensor);
  const MPI_Datatype type = sum_type(tensor.scalar_type(), rank_);
  auto* data = static_cast<char*>(buffer.work.data_ptr());
  const std::int64_t n = buffer.work.numel();
  std::vector<MPI_Request> requests;
  for (std::int64_t begin = 0; begin < n; begin += kMaxChunk) {
    const auto count = static_cast<int>(std::min(kMaxChunk, n - begin));
    MPI_Request request = MPI_REQUEST_NULL;
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data + begin * buffer.work.element_size(), count, type, MPI_SUM,
                             comm_, &request),
              "MPI_Iallreduce", rank_);
    requests.push_back(request);
  }
  return std::make_unique<MpiPending>(std::move(buffer), std::move(requests), rank_);
}

void Comm::broadcast_(torch::Tensor& tensor, int root) const {
#ifdef CIR_WITH_NCCL
  if (tensor.is_cuda()) return CommAccess::nccl(*this, tensor).broadcast_(tensor, root);
#endif
  HostBuffer buffer(tensor);
  auto* data = static_cast<char*>(buffer.work.data_ptr());
  const std::int64_t bytes = buffer.work.numel() * buffer.work.element_size();
  for (std::int64_t begin = 0; begin < bytes; begin += kMaxChunk) {
    const auto count = static_cast<int>(std::min(kMaxChunk, bytes - begin));
    check_mpi(MPI_Bcast(data + begin, count, MPI_BYTE, root, comm_), "MPI_Bcast", rank_);
  }
  buffer.write_back();
}

std::vector<std::int64_t> Comm::row_counts(const torch::Tensor& local) const {
  if (local.dim() == 0) fail(rank_, "cannot gather the rows of a 0-dimensional tensor");
  // Rows, dimensions and dtype of every rank, to report mismatches clearly.
  std::vector<std::int64_t> mine = {local.size(0), local.dim(),
                                    static_cast<std::int64_t>(local.scalar_type())};
  for (std::int64_t d = 1; d < local.dim(); ++d) mine.push_back(local.size(d));
  mine.resize(3 + 8, -1);
  if (local.dim() > 9) fail(rank_, "cannot gather tensors of more than 9 dimensions");
  std::vector<std::int64_t> all(mine.size() * static_cast<std::size_t>(size_));
  check_mpi(MPI_Allgather(mine.data(), static_cast<int>(mine.size()), MPI_INT64_T, all.data(),
                          static_cast<int>(mine.size()), MPI_INT64_T, comm_),
            "MPI_Allgather", rank_);
  std::vector<std::int64_t> counts;
  for (int r = 0; r < size_; ++r) {
    const std::int64_t* theirs = all.data() + static_cast<std::size_t>(r) * mine.size();
    if (!std::equal(mine.begin() + 1, mine.end(), theirs + 1))
      fail(rank_,
           fmt::format("cannot gather rows: this rank has a {} tensor of shape {} but rank {} has another "
                       "dtype or row shape",
                       c10::toString(local.scalar_type()), fmt::join(local.sizes(), "×"), r),
           "every rank must pass rows of the same shape and dtype");
    counts.push_back(theirs[0]);
  }
  return counts;
}

torch::Tensor Comm::all_gather(const torch::Tensor& local) const {
  return all_gather(local, row_counts(local));
}

torch::Tensor Comm::all_gather(const torch::Tensor& local, const std::vector<std::int64_t>& counts) const {
  const std::int64_t total = std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
  std::vector<std::int64_t> shape = tail_shape(local);
  shape.insert(shape.begin(), total);
#ifdef CIR_WITH_NCCL
  if (local.is_cuda() && std::all_of(counts.begin(), counts.end(), [&](auto c) { return c == counts[0]; })) {
    torch::Tensor out = torch::empty(shape, local.options());
    CommAccess::nccl(*this, local).all_gather(local.contiguous(), out);
    return out;
  }
#endif
  const torch::Tensor work = local.to(torch::kCPU).contiguous();
  torch::Tensor out = torch::empty(shape, work.options());
  const std::vector<int> int_counts = as_int_counts(counts, rank_);
  const std::vector<int> displs = displacements(int_counts);
  RowType row(work, rank_);
  check_mpi(MPI_Allgatherv(work.data_ptr(), int_counts[static_cast<std::size_t>(rank_)], row.get(),
                           out.data_ptr(), int_counts.data(), displs.data(), row.get(), comm_),
            "MPI_Allgatherv", rank_);
  return out.to(local.device());
}

torch::Tensor Comm::gather(const torch::Tensor& local, int root) const {
  const std::vector<std::int64_t> counts = row_counts(local);
  const std::int64_t total = std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
  const torch::Tensor work = local.to(torch::kCPU).contiguous();
  torch::Tensor out;
  if (rank_ == root) {
    std::vector<std::int64_t> shape = tail_shape(local);
    shape.insert(shape.begin(), total);
    out = torch::empty(shape, work.options());
  }
  const std::vector<int> int_counts = as_int_counts(counts, rank_);
  const std::vector<int> displs = displacements(int_counts);
  RowType row(work, rank_);
  check_mpi(MPI_Gatherv(work.data_ptr(), int_counts[static_cast<std::size_t>(rank_)], row.get(),
                        rank_ == root ? out.data_ptr() : nullptr, int_counts.data(), displs.data(), row.get(),
                        root, comm_),
            "MPI_Gatherv", rank_);
  return rank_ == root ? out.to(local.device()) : torch::Tensor();
}

torch::Tensor Comm::reduce_scatter_rows(const torch::Tensor& full,
                                        const std::vector<std::int64_t>& counts) const {
  if (static_cast<int>(counts.size()) != size_)
    fail(rank_, fmt::format("reduce_scatter_rows got {} row counts for {} ranks", counts.size(), size_));
  const std::int64_t total = std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
  if (full.dim() == 0 || full.size(0) != total)
    fail(rank_, fmt::format("reduce_scatter_rows: the tensor has {} rows but the counts add up to {}",
                            full.dim() == 0 ? 0 : full.size(0), total));
  const std::int64_t offset = std::accumulate(counts.begin(), counts.begin() + rank_, std::int64_t{0});
  const std::int64_t mine = counts[static_cast<std::size_t>(rank_)];
  std::vector<std::int64_t> shape = tail_shape(full);
  shape.insert(shape.begin(), mine);
#ifdef CIR_WITH_NCCL
  if (full.is_cuda() && std::all_of(counts.begin(), counts.end(), [&](auto c) { return c == counts[0]; })) {
    torch::Tensor out = torch::empty(shape, full.options());
    CommAccess::nccl(*this, full).reduce_scatter_sum(full.contiguous(), out);
    return out;
  }
#endif
  const std::int64_t row_elems = total == 0 ? 0 : full.numel() / total;
  if (full.numel() > INT_MAX) {
    torch::Tensor sum = full.clone();
    all_reduce_sum_(sum);
    return sum.narrow(0, offset, mine).clone();
  }
  const torch::Tensor work = full.to(torch::kCPU).contiguous();
  torch::Tensor out = torch::empty(shape, work.options());
  std::vector<int> elems;
  for (std::int64_t c : counts) elems.push_back(static_cast<int>(c * row_elems));
  check_mpi(MPI_Reduce_scatter(work.data_ptr(), out.data_ptr(), elems.data(),
                               sum_type(full.scalar_type(), rank_), MPI_SUM, comm_),
            "MPI_Reduce_scatter", rank_);
  return out.to(full.device());
}

namespace {

using torch::autograd::Node;
using torch::autograd::variable_list;

struct AllGatherRowsBackward final : Node {
  AllGatherRowsBackward(Comm comm, std::vector<std::int64_t> counts, std::vector<std::int64_t> shape,
                        torch::TensorOptions options)
      : comm_(std::move(comm)), counts_(std::move(counts)), shape_(std::move(shape)), options_(options) {}
  variable_list apply(variable_list&& grads) override {
    // Every rank must take part even if its gradient is undefined (zero).
    torch::Tensor grad = grads[0].defined() ? grads[0] : torch::zeros(shape_, options_);
    return {comm_.reduce_scatter_rows(grad, counts_)};
  }
  std::string name() const override { return "cir::workers::AllGatherRowsBackward"; }

 private:
  Comm comm_;
  std::vector<std::int64_t> counts_;
  std::vector<std::int64_t> shape_;  // of the gathered tensor
  torch::TensorOptions options_;
};

// Connects `output` to `input` through `node` when autograd records.
void attach(torch::Tensor& output, const torch::Tensor& input, std::shared_ptr<Node> node) {
  node->set_next_edges(torch::autograd::collect_next_edges(input));
  torch::autograd::set_history(output, node);
}

}  // namespace

torch::Tensor all_gather_rows(const Comm& comm, const torch::Tensor& local) {
  const bool record = local.requires_grad() && torch::GradMode::is_enabled();
  std::vector<std::int64_t> counts = comm.row_counts(local);
  torch::Tensor out;
  {
    torch::NoGradGuard no_grad;
    out = comm.all_gather(local.detach(), counts);
  }
  if (record)
    attach(out, local,
           std::shared_ptr<Node>(
               new AllGatherRowsBackward(comm, std::move(counts), out.sizes().vec(), out.options()),
               torch::autograd::deleteNode));
  return out;
}

}  // namespace cir::workers
