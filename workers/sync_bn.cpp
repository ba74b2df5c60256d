#include "workers/sync_bn.hpp"

namespace cir::workers {

SyncBatchNormScope::SyncBatchNormScope(const Comm& comm) : previous_(model::batch_norm_reducer()) {
  if (comm.size() == 1)
    model::set_batch_norm_reducer({});
  else
    model::set_batch_norm_reducer([comm](torch::Tensor& t) { comm.all_reduce_sum_(t); });
}

SyncBatchNormScope::~SyncBatchNormScope() { model::set_batch_norm_reducer(previous_); }

}  // namespace cir::workers
