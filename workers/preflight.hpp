// cir-sweep's pre-flight check of what the trials read (common/preflight.hpp):
// every distinct dataset folder (datasets::check_dataset_files) and weight
// file (model::check_image_weights, model::check_text_weights), checked once
// however many trials read it.
#pragma once

#include <vector>

#include "common/preflight.hpp"

namespace cir::workers {

std::vector<InputProblem> check_inputs(const std::vector<TrialSpec>& trials);

}  // namespace cir::workers
