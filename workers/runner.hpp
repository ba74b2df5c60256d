// The real trial runner: trains one trial of a sweep data-parallel on its
// group of ranks (docs/architecture.md "The launcher/worker seam",
// docs/determinism.md "N ranks equal one rank"), evaluates it, reports one
// EpochRecord per epoch through the group leader, and checkpoints so that a
// stopped or killed run resumes with the same rows. cir-sweep calls it for every trial.
#pragma once

#include <memory>

#include "common/trial.hpp"

namespace cir::workers {

// What one run does, given the trial's resolved keys (sweeps/README.md):
// - threads: train.threads intra-op threads per rank, 0 = the machine's
//   cores ÷ the ranks on this node (at least 1);
// - model: the dataset (data.*), the text stack built on its training
//   captions, the composed model (model.*), SGD with momentum, weight decay
//   and the text encoder's lr factor, the schedule (train.schedule), γ per
//   epoch (loss.gamma0); weights start identical on every rank (every rank
//   seeds their initialisation with the same key of the trial seed);
// - each step: this rank's slice of the global batch, features all-gathered
//   with autograd, the loss on the global batch with augmenter noise keyed
//   by (seed, epoch, step), synchronised batch norms, gradients summed
//   across the group during backward; a non-finite loss ends the trial as
//   diverged at that epoch;
// - evaluation every eval.every epochs and at the last: Recall@eval.ks per
//   evaluation split, features computed in parallel across the group;
// - checkpoints (model, optimiser, position, the epoch's running sums and
//   the records so far) at each epoch end and, when a stop is requested,
//   at the next step boundary (then Outcome::stopped); the last
//   train.checkpoint_keep kept. A run with resume_from > 0 or with a
//   checkpoint continues from the newest checkpoint and reports epochs
//   resume_from, … exactly as an uninterrupted run would (on CPU).
std::unique_ptr<TrialRunner> make_trainer();

}  // namespace cir::workers
