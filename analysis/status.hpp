// A sweep's progress from its latest store snapshot (cir-report --status):
// trial counts by state, epochs done, an ETA, the running trials with their
// epochs and the failed ones with their messages.
#pragma once

#include <string>

#include "analysis/sweep_data.hpp"

namespace cir::analysis {

// True while some trial is pending or running.
bool in_progress(const SweepData& sweep);

// The progress report as Markdown-friendly text; `now` is unix seconds (for
// "updated … ago"). Epochs per trial come from the trial's train.epochs.
std::string render_status(const SweepData& sweep, double now);

// The same as one JSON object: sweep, store, updated, seconds_since_update,
// in_progress, trials, counts (by status), epochs_done, epochs_planned,
// seconds_per_epoch, eta_seconds (null when unknown), parallel, and
// trial_list (id, point, seed, status, epochs_done, epochs_planned,
// attempts, best_r10, last_loss, error; every trial).
std::string render_status_json(const SweepData& sweep, double now);

}  // namespace cir::analysis
