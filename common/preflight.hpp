// The pre-flight check of a sweep's inputs
// (docs/architecture.md "A sweep, end to end"): before any trial starts and
// before the store is touched, rank 0 asks the program what the trials will read that is not there, so
// that a missing dataset or weights file is one error instead of one failed
// trial per grid point. The launcher only knows this interface; the program
// (launcher/main.cpp) hands it workers/'s check, which knows the datasets'
// index files and the weight files.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "common/error.hpp"
#include "common/trial.hpp"

namespace cir {

// One thing the trials cannot read. `error` names the key that points at it
// (Where::key) and says the path in its message; `trials` are the indices
// (TrialSpec::index) of the trials that read it.
struct InputProblem {
  Error error;
  std::vector<std::int64_t> trials;
};

// Checks what `trials` will read, cheaply (files and folders exist, not
// their content), once per distinct setting, and returns every problem
// once, in trial order. Empty when everything is there.
using InputCheck = std::function<std::vector<InputProblem>(const std::vector<TrialSpec>& trials)>;

}  // namespace cir
