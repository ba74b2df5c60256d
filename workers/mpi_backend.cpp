// Every collective here is non-blocking and waited for through
// common/collective_watch.hpp, so that the stall inspector sees it and can
// abandon it (then the buffers it uses are kept for good).
#include "workers/mpi_backend.hpp"

#include <fmt/format.h>

#include <climits>
#include <numeric>
#include <string>

#include "common/collective_watch.hpp"
#include "common/error.hpp"
#include "common/mpi.hpp"

namespace cir::workers {

namespace {

// Larger messages are sent in pieces of this many elements (MPI counts are int).
constexpr std::int64_t kMaxChunk = std::int64_t{1} << 30;

[[noreturn]] void fail(int rank, const std::string& message, const std::string& hint = {}) {
  throw Error(message, Where{.rank = rank}, hint);
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
  MpiPending(HostBuffer buffer, std::vector<MPI_Request> requests, std::int64_t number, MPI_Comm comm)
      : buffer_(std::move(buffer)), requests_(std::move(requests)), number_(number), comm_(comm) {}
  // Waits, unless the trial was abandoned (common/collective_watch.hpp):
  // then the buffer is kept for good instead.
  ~MpiPending() override {
    if (done_) return;
    try {
      mpi::wait_collective(requests_, number_, "MPI_Iallreduce", comm_,
                           [this] { return std::move(buffer_); });
    } catch (const std::exception&) {
      // Kept; the trial has failed already.
    }
  }
  bool test() override {
    if (done_) return true;
    int flag = 0;
    mpi::check(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &flag, MPI_STATUSES_IGNORE),
               "MPI_Iallreduce", comm_);
    return flag != 0;
  }
  void wait() override {
    if (done_) return;
    done_ = true;
    mpi::wait_collective(requests_, number_, "MPI_Iallreduce", comm_, [this] { return std::move(buffer_); });
    buffer_.write_back();
  }

 private:
  HostBuffer buffer_;
  std::vector<MPI_Request> requests_;
  std::int64_t number_;
  MPI_Comm comm_;
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
    mpi::check(MPI_Type_contiguous(static_cast<int>(bytes), MPI_BYTE, &type_), "MPI_Type_contiguous");
    mpi::check(MPI_Type_commit(&type_), "MPI_Type_commit");
  }
  ~RowType() { MPI_Type_free(&type_); }
  RowType(const RowType&) = delete;
  RowType& operator=(const RowType&) = delete;
  MPI_Datatype get() const { return type_; }

 private:
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
};

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

std::int64_t total_rows(const std::vector<std::int64_t>& counts) {
  return std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
}

}  // namespace

MpiBackend::MpiBackend(MPI_Comm comm) : comm_(comm) {
  mpi::check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank", comm_);
}

void MpiBackend::all_reduce_sum_(torch::Tensor& tensor) { all_reduce_sum_async(tensor)->wait(); }

std::unique_ptr<PendingOp> MpiBackend::all_reduce_sum_async(torch::Tensor& tensor) {
  HostBuffer buffer(tensor);
  const MPI_Datatype type = sum_type(tensor.scalar_type(), rank_);
  auto* data = static_cast<char*>(buffer.work.data_ptr());
  const std::int64_t n = buffer.work.numel();
  const std::int64_t number = mpi::begin_collective();
  std::vector<MPI_Request> requests;
  for (std::int64_t begin = 0; begin < n; begin += kMaxChunk) {
    const auto count = static_cast<int>(std::min(kMaxChunk, n - begin));
    MPI_Request request = MPI_REQUEST_NULL;
    mpi::check(MPI_Iallreduce(MPI_IN_PLACE, data + begin * buffer.work.element_size(), count, type, MPI_SUM,
                              comm_, &request),
               "MPI_Iallreduce", comm_);
    requests.push_back(request);
  }
  return std::make_unique<MpiPending>(std::move(buffer), std::move(requests), number, comm_);
}

void MpiBackend::broadcast_(torch::Tensor& tensor, int root) {
  HostBuffer buffer(tensor);
  auto* data = static_cast<char*>(buffer.work.data_ptr());
  const std::int64_t bytes = buffer.work.numel() * buffer.work.element_size();
  const std::int64_t number = mpi::begin_collective();
  std::vector<MPI_Request> requests;
  for (std::int64_t begin = 0; begin < bytes; begin += kMaxChunk) {
    const auto count = static_cast<int>(std::min(kMaxChunk, bytes - begin));
    MPI_Request request = MPI_REQUEST_NULL;
    mpi::check(MPI_Ibcast(data + begin, count, MPI_BYTE, root, comm_, &request), "MPI_Ibcast", comm_);
    requests.push_back(request);
  }
  mpi::wait_collective(requests, number, "MPI_Ibcast", comm_, [&] { return std::move(buffer); });
  buffer.write_back();
}

torch::Tensor MpiBackend::all_gather(const torch::Tensor& local, const std::vector<std::int64_t>& counts) {
  const torch::Tensor work = local.to(torch::kCPU).contiguous();
  torch::Tensor out = torch::empty(rows_shape(local, total_rows(counts)), work.options());
  std::vector<int> int_counts = as_int_counts(counts, rank_);
  std::vector<int> displs = displacements(int_counts);
  RowType row(work, rank_);
  mpi::collective(
      comm_, "MPI_Iallgatherv",
      [&](MPI_Request* r) {
        return MPI_Iallgatherv(work.data_ptr(), int_counts[static_cast<std::size_t>(rank_)], row.get(),
                               out.data_ptr(), int_counts.data(), displs.data(), row.get(), comm_, r);
      },
      [&] {
        return std::tuple{work, out, std::move(int_counts), std::move(displs)};
      });
  return out.to(local.device());
}

torch::Tensor MpiBackend::gather(const torch::Tensor& local, const std::vector<std::int64_t>& counts,
                                 int root) {
  const torch::Tensor work = local.to(torch::kCPU).contiguous();
  torch::Tensor out;
  if (rank_ == root) out = torch::empty(rows_shape(local, total_rows(counts)), work.options());
  std::vector<int> int_counts = as_int_counts(counts, rank_);
  std::vector<int> displs = displacements(int_counts);
  RowType row(work, rank_);
  mpi::collective(
      comm_, "MPI_Igatherv",
      [&](MPI_Request* r) {
        return MPI_Igatherv(work.data_ptr(), int_counts[static_cast<std::size_t>(rank_)], row.get(),
                            rank_ == root ? out.data_ptr() : nullptr, int_counts.data(), displs.data(),
                            row.get(), root, comm_, r);
      },
      [&] {
        return std::tuple{work, out, std::move(int_counts), std::move(displs)};
      });
  return rank_ == root ? out.to(local.device()) : torch::Tensor();
}

torch::Tensor MpiBackend::reduce_scatter_rows(const torch::Tensor& full,
                                              const std::vector<std::int64_t>& counts) {
  const std::int64_t total = total_rows(counts);
  const std::int64_t offset = std::accumulate(counts.begin(), counts.begin() + rank_, std::int64_t{0});
  const std::int64_t mine = counts[static_cast<std::size_t>(rank_)];
  if (full.numel() > INT_MAX) {
    torch::Tensor sum = full.clone();
    all_reduce_sum_(sum);
    return sum.narrow(0, offset, mine).clone();
  }
  const std::int64_t row_elems = total == 0 ? 0 : full.numel() / total;
  const torch::Tensor work = full.to(torch::kCPU).contiguous();
  torch::Tensor out = torch::empty(rows_shape(full, mine), work.options());
  std::vector<int> elems;
  for (std::int64_t c : counts) elems.push_back(static_cast<int>(c * row_elems));
  const MPI_Datatype type = sum_type(full.scalar_type(), rank_);
  mpi::collective(
      comm_, "MPI_Ireduce_scatter",
      [&](MPI_Request* r) {
        return MPI_Ireduce_scatter(work.data_ptr(), out.data_ptr(), elems.data(), type, MPI_SUM, comm_, r);
      },
      [&] {
        return std::tuple{work, out, std::move(elems)};
      });
  return out.to(full.device());
}

}  // namespace cir::workers
