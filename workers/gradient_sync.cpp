#include "workers/gradient_sync.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/error.hpp"
#include "common/mpi.hpp"

namespace cir::workers {

GradientSync::GradientSync(const Comm& comm, std::vector<torch::Tensor> params, std::size_t bucket_bytes,
                           bool average)
    : comm_(comm), average_(average) {
  if (comm_.size() == 1) return;  // one rank's sum is its own gradient
  for (auto& p : params)
    if (p.defined() && p.requires_grad()) params_.push_back(std::move(p));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].is_leaf())
      throw Error(fmt::format("GradientSync: parameter {} of shape [{}] is not a leaf tensor", i,
                              fmt::join(params_[i].sizes(), ", ")),
                  Where{.rank = comm_.rank()},
                  "pass the model's parameters(), not tensors computed from them");
  }
  // The backends of the parameters' devices are made here, on this thread,
  // not at the first gradient on an autograd device thread.
  int level = MPI_THREAD_SINGLE;
  mpi::check(MPI_Query_thread(&level), "MPI_Query_thread");
  for (const torch::Tensor& p : params_)
    if (comm_.backend(p.device()).sums_call_mpi() && p.is_cuda() && level < MPI_THREAD_SERIALIZED)
      throw Error(
          "GradientSync: CUDA gradients arrive on autograd's device threads, which would call MPI, but MPI "
          "was initialised without thread support",
          Where{.rank = comm_.rank()},
          "initialise MPI with MPI_THREAD_SERIALIZED or higher, or give every rank a GPU of its own in a "
          "build "
          "with -DCIR_WITH_NCCL=ON");

  // Reverse registration order, a new bucket when the device or dtype
  // changes or the current one is full.
  bucket_of_.resize(params_.size());
  std::vector<std::int64_t> offset_of(params_.size());
  std::vector<torch::TensorOptions> bucket_options;
  std::vector<std::int64_t> bucket_numel;
  for (std::size_t k = params_.size(); k-- > 0;) {
    const torch::Tensor& p = params_[k];
    const auto bytes = static_cast<std::size_t>(p.numel()) * p.element_size();
    const bool fits =
        !buckets_.empty() && bucket_options.back().device() == p.device() &&
        bucket_options.back().dtype() == p.dtype() &&
        static_cast<std::size_t>(bucket_numel.back()) * p.element_size() + bytes <= bucket_bytes;
    if (!fits) {
      buckets_.emplace_back();
      bucket_options.push_back(p.options());
      bucket_numel.push_back(0);
    }
    bucket_of_[k] = buckets_.size() - 1;
    offset_of[k] = bucket_numel.back();
    buckets_.back().entries.push_back(k);
    bucket_numel.back() += p.numel();
  }
  for (std::size_t b = 0; b < buckets_.size(); ++b)
    buckets_[b].buffer = torch::empty({bucket_numel[b]}, bucket_options[b].requires_grad(false));
  // Each parameter's .grad becomes its slot of its bucket, holding the
  // gradient it had. The slot is a tensor over the bucket's memory, not an
  // autograd view (optimisers detach_() gradients in place, which views
  // refuse); its deleter keeps the bucket alive.
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i];
    const torch::Tensor& buffer = buckets_[bucket_of_[i]].buffer;
    void* start = static_cast<char*>(buffer.data_ptr()) + offset_of[i] * buffer.element_size();
    slots_.push_back(torch::from_blob(
        start, p.sizes(), [keep = buffer](void*) {}, buffer.options()));
    adopt(i);
  }
  arrived_.assign(params_.size(), false);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    accumulators_.push_back(torch::autograd::impl::grad_accumulator(params_[i]));
    accumulators_.back()->add_post_hook(std::make_unique<Arrived>(*this, i));
  }
}

GradientSync::~GradientSync() {
  for (const auto& accumulator : accumulators_) {
    auto& hooks = accumulator->post_hooks();
    hooks.erase(std::remove_if(hooks.begin(), hooks.end(),
                               [this](const auto& hook) {
                                 const auto* arrived = dynamic_cast<const Arrived*>(hook.get());
                                 return arrived != nullptr && arrived->owner == this;
                               }),
                hooks.end());
  }
}

void GradientSync::adopt(std::size_t param) {
  torch::Tensor& p = params_[param];
  if (p.grad().defined() && p.grad().data_ptr() == slots_[param].data_ptr()) return;
  if (p.grad().defined())
    slots_[param].copy_(p.grad());
  else
    slots_[param].zero_();
  p.mutable_grad() = slots_[param];
}

torch::autograd::variable_list GradientSync::Arrived::operator()(
    const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
  owner->on_gradient(param);
  return outputs;
}

void GradientSync::on_gradient(std::size_t param) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (arrived_[param])
    throw Error(fmt::format("GradientSync: parameter {} received a second gradient before complete()", param),
                Where{.rank = comm_.rank()}, "call complete() after every backward pass");
  arrived_[param] = true;
  ++arrived_count_;
  // AccumulateGrad has added the gradient into .grad, the slot — unless
  // something replaced .grad since (then its value moves into the slot).
  torch::NoGradGuard no_grad;
  adopt(param);
  ++buckets_[bucket_of_[param]].ready;
  launch_ready();
  for (std::size_t b = 0; b < next_launch_; ++b) buckets_[b].pending->test();  // let MPI progress
}

void GradientSync::launch_ready() {
  while (next_launch_ < buckets_.size() &&
         buckets_[next_launch_].ready == buckets_[next_launch_].entries.size()) {
    Bucket& bucket = buckets_[next_launch_++];
    bucket.pending = comm_.all_reduce_sum_async(bucket.buffer);
    launch_points_.push_back(arrived_count_);
  }
}

void GradientSync::complete() {
  std::lock_guard<std::mutex> lock(mutex_);
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (arrived_[i]) continue;
    adopt(i);
    ++buckets_[bucket_of_[i]].ready;
  }
  launch_ready();
  for (Bucket& bucket : buckets_) {
    bucket.pending->wait();
    bucket.pending.reset();
    if (average_) bucket.buffer.div_(comm_.size());
    bucket.ready = 0;
  }
  arrived_.assign(params_.size(), false);
  arrived_count_ = 0;
  next_launch_ = 0;
  last_launch_points_ = std::move(launch_points_);
  launch_points_.clear();
}

}  // namespace cir::workers
