// The learning-rate schedules of docs/paper-notes.md "Training set-up", as a factor
// of the base rate per epoch (the rate is constant within an epoch):
//   paper:     ×0.1 at each epoch of train.lr_steps (the paper: [45]);
//   reference: linear warm-up from train.warmup_factor at epoch 0 to 1 at
//              epoch train.warmup_epochs, and ×0.1 at each epoch of
//              train.lr_steps (the authors' configs: 5 epochs from 0.01,
//              steps at [35, 42]).
#pragma once

#include <cstdint>
#include <vector>

#include "common/params.hpp"

namespace cir::workers {

struct Schedule {
  enum class Kind { paper, reference } kind = Kind::reference;
  std::vector<std::int64_t> steps;  // epochs (0-based) at which the rate is multiplied by 0.1
  std::int64_t warmup_epochs = 0;   // reference only
  double warmup_factor = 1.0;       // reference only: the factor at epoch 0
};

// Reads train.schedule, train.lr_steps, train.warmup_epochs and
// train.warmup_factor; throws cir::Error naming the key for an unknown
// schedule or a negative step.
Schedule schedule_from(const cir::Params& params);

// The factor of the base rate during `epoch` (0-based).
double lr_factor(const Schedule& schedule, std::int64_t epoch);

}  // namespace cir::workers
