#include "workers/comm.hpp"

#include <fmt/format.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>

#include <mutex>
#include <numeric>
#include <string>
#include <unordered_map>

#include "common/collective_watch.hpp"
#include "common/error.hpp"
#include "common/mpi.hpp"

namespace cir::workers {

struct Comm::Backends {
  std::mutex mutex;  // GradientSync asks from autograd's device threads
  std::unordered_map<torch::Device, std::unique_ptr<CommBackend>> by_device;
};

Comm::Comm(MPI_Comm comm) : comm_(comm), backends_(std::make_shared<Backends>()) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) throw Error("Comm needs MPI, but MPI_Init has not been called");
  mpi::check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank", comm_);
  mpi::check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size", comm_);
}

Comm Comm::from_fortran(int handle) { return Comm(MPI_Comm_f2c(handle)); }

CommBackend& Comm::backend(torch::Device device) const {
  std::lock_guard<std::mutex> lock(backends_->mutex);
  auto& slot = backends_->by_device[device];
  if (!slot) slot = make_backend(comm_, device);
  return *slot;
}

void Comm::barrier() const {
  mpi::collective(
      comm_, "MPI_Ibarrier", [&](MPI_Request* r) { return MPI_Ibarrier(comm_, r); }, [] { return 0; });
}

void Comm::all_reduce_sum_(torch::Tensor& tensor) const { backend(tensor.device()).all_reduce_sum_(tensor); }

std::unique_ptr<PendingOp> Comm::all_reduce_sum_async(torch::Tensor& tensor) const {
  return backend(tensor.device()).all_reduce_sum_async(tensor);
}

void Comm::broadcast_(torch::Tensor& tensor, int root) const {
  backend(tensor.device()).broadcast_(tensor, root);
}

std::vector<std::int64_t> Comm::row_counts(const torch::Tensor& local) const {
  const Where where{.rank = rank_};
  if (local.dim() == 0) throw Error("cannot gather the rows of a 0-dimensional tensor", where);
  // Rows, dimensions and dtype of every rank, to report mismatches clearly.
  std::vector<std::int64_t> mine = {local.size(0), local.dim(),
                                    static_cast<std::int64_t>(local.scalar_type())};
  for (std::int64_t d = 1; d < local.dim(); ++d) mine.push_back(local.size(d));
  mine.resize(3 + 8, -1);
  if (local.dim() > 9) throw Error("cannot gather tensors of more than 9 dimensions", where);
  std::vector<std::int64_t> all(mine.size() * static_cast<std::size_t>(size_));
  mpi::collective(
      comm_, "MPI_Iallgather",
      [&](MPI_Request* r) {
        return MPI_Iallgather(mine.data(), static_cast<int>(mine.size()), MPI_INT64_T, all.data(),
                              static_cast<int>(mine.size()), MPI_INT64_T, comm_, r);
      },
      [&] {
        return std::pair{std::move(mine), std::move(all)};
      });
  std::vector<std::int64_t> counts;
  for (int r = 0; r < size_; ++r) {
    const std::int64_t* theirs = all.data() + static_cast<std::size_t>(r) * mine.size();
    if (!std::equal(mine.begin() + 1, mine.end(), theirs + 1))
      throw Error(
          fmt::format("cannot gather rows: this rank has a {} tensor of shape {} but rank {} has another "
                      "dtype or row shape",
                      c10::toString(local.scalar_type()), fmt::join(local.sizes(), "×"), r),
          where, "every rank must pass rows of the same shape and dtype");
    counts.push_back(theirs[0]);
  }
  return counts;
}

torch::Tensor Comm::all_gather(const torch::Tensor& local) const {
  return all_gather(local, row_counts(local));
}

torch::Tensor Comm::all_gather(const torch::Tensor& local, const std::vector<std::int64_t>& counts) const {
  return backend(local.device()).all_gather(local, counts);
}

torch::Tensor Comm::gather(const torch::Tensor& local, int root) const {
  return backend(local.device()).gather(local, row_counts(local), root);
}

torch::Tensor Comm::reduce_scatter_rows(const torch::Tensor& full,
                                        const std::vector<std::int64_t>& counts) const {
  const Where where{.rank = rank_};
  if (static_cast<int>(counts.size()) != size_)
    throw Error(fmt::format("reduce_scatter_rows got {} row counts for {} ranks", counts.size(), size_),
                where);
  const std::int64_t total = std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
  if (full.dim() == 0 || full.size(0) != total)
    throw Error(fmt::format("reduce_scatter_rows: the tensor has {} rows but the counts add up to {}",
                            full.dim() == 0 ? 0 : full.size(0), total),
                where);
  return backend(full.device()).reduce_scatter_rows(full, counts);
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
