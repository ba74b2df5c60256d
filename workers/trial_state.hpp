// Where a trial's training stands, as the trainer checkpoints it: the
// position (epoch, steps done in it), the running sums of the epoch in
// progress, and the records of the epochs finished so far (so a run whose
// store lost its last commits can report them again, identically).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "common/trial.hpp"

namespace cir::workers {

// Sums over the steps of one epoch; the record reports their means.
struct EpochSums {
  double loss_total = 0.0, loss_info = 0.0, loss_u = 0.0, aug_std = 0.0;
  std::int64_t steps = 0;
  std::int64_t samples = 0;    // global samples trained on
  double train_seconds = 0.0;  // wall time of the steps so far
};

struct TrialState {
  std::int32_t epoch = 0;            // the epoch in progress (== epochs when finished)
  std::int64_t step = 0;             // steps of `epoch` done
  EpochSums sums;                    // of `epoch`, over its first `step` steps
  std::vector<EpochRecord> history;  // every finished epoch, in order
};

// A state as JSON (doubles round-trip exactly through its text) and back;
// trial_state_from_json throws cir::Error naming `what` (a checkpoint) for
// JSON that is not a trial state.
nlohmann::json to_json(const TrialState& state);
TrialState trial_state_from_json(const nlohmann::json& j, const std::string& what);

}  // namespace cir::workers
