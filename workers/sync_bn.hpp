// Synchronised batch norm for a trial's group: while a SyncBatchNormScope is
// alive, every model::BatchNorm of this process takes its training
// statistics over the group's global batch (model/batch_norm.hpp sums its
// statistics in forward and its gradient sums in backward through the
// installed reducer, here Comm::all_reduce_sum_).
// This matches all_gather_rows and GradientSync (see comm.hpp): with every
// rank computing the same global loss, N-rank training equals 1-rank
// training at the same global batch.
//
// The reducer is process-wide: one scope at a time, around the training of
// one trial. A group of one rank installs the empty reducer (local batch
// norm: the same computation on the native kernel, faster).
#pragma once

#include "model/batch_norm.hpp"
#include "workers/comm.hpp"

namespace cir::workers {

class SyncBatchNormScope {
 public:
  // Installs the group's reducer; the destructor restores the previous one.
  explicit SyncBatchNormScope(const Comm& comm);
  ~SyncBatchNormScope();
  SyncBatchNormScope(const SyncBatchNormScope&) = delete;
  SyncBatchNormScope& operator=(const SyncBatchNormScope&) = delete;

 private:
  model::BatchNormReducer previous_;
};

}  // namespace cir::workers
