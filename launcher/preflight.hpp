// Rank 0's pre-flight check (docs/architecture.md "A sweep, end to end"):
// after the spec is expanded and before any trial starts or the store is
// created or changed, it checks that the store's and the checkpoints'
// folders can be written and asks the program's InputCheck
// (common/preflight.hpp) what the trials will read that is not there.
#pragma once

#include <vector>

#include "common/error.hpp"
#include "common/preflight.hpp"
#include "common/trial.hpp"
#include "launcher/spec.hpp"

namespace cir::launcher {

// Throws one cir::Error (ExitCode::usage) listing every problem once: a
// folder that cannot be written (the key sweep.store at `store_where`), and
// each input problem at the spec line that sets its key, with how many
// trials it concerns. Trials an existing store already finished are not
// checked (nothing will read their inputs). `check` may be empty.
void preflight(const SweepSpec& spec, const Where& store_where, const std::vector<TrialSpec>& trials,
               const InputCheck& check);

}  // namespace cir::launcher
