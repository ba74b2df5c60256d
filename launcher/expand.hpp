// Trial expansion: a loaded spec → the sweep's trials, in a stable order.
// Each product of the grid is walked with its first axis outermost; the
// products follow each other in file order; every point runs once per seed
// (seeds innermost). Points whose resolved parameters are equal collapse
// into the first (Table 4's w1 = w2 = 1 appears once).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "common/trial.hpp"
#include "launcher/spec.hpp"

namespace cir::launcher {

// The trials of a spec, with ids, indices, params_json, swept keys and
// expected costs. Throws cir::Error for a point that breaks a rule between
// keys (train.batch not divisible by sweep.ranks_per_trial).
std::vector<TrialSpec> expand(const SweepSpec& spec);

// The canonical text of a trial's parameters: compact JSON, keys sorted.
std::string canonical_json(const nlohmann::json& params);

// A trial's relative cost for longest-expected-first scheduling: epochs ×
// samples per epoch (training plus a share for evaluation) × image pixels ×
// backbone size. Only ratios between trials matter.
double expected_cost(const nlohmann::json& params);

// The --dry-run table: one row per trial with its index, id, seed, the swept
// keys' values and its expected cost, under a header naming the sweep.
std::string trial_table(const SweepSpec& spec, const std::vector<TrialSpec>& trials);

}  // namespace cir::launcher
