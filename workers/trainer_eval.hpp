// The trainer's evaluation (docs/paper-notes.md "Evaluation"): Recall@K of every
// evaluation split of the dataset for the model as it is now.
#pragma once

#include <memory>
#include <vector>

#include "common/params.hpp"
#include "common/trial.hpp"
#include "datasets/dataset.hpp"
#include "model/composed.hpp"
#include "model/tokenizer.hpp"
#include "workers/comm.hpp"

namespace cir::workers {

// Each rank encodes its share of a split's gallery (f_t) and queries (f_s,
// reference image + caption) with the model in eval mode, its batches fed
// through a DeviceFeed (workers/device_feed.hpp); the features stay on
// `device`, the leader gathers them there, ranks exactly on that device
// (workers/recall.hpp, each split's exclusions and several true matches)
// and returns Recall@K for every K of eval.ks, split
// by split; the other ranks return nothing. Collective over `comm`; an
// error on any rank (an unreadable image) throws on every rank. Leaves the
// model in eval mode.
std::vector<RecallValue> evaluate(model::ComposedModelImpl& net,
                                  const std::shared_ptr<const datasets::Dataset>& dataset,
                                  const std::shared_ptr<const model::Tokenizer>& tokenizer,
                                  const cir::Params& params, const Comm& comm, torch::Device device);

}  // namespace cir::workers
