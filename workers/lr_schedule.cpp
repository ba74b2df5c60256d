#include "workers/lr_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace cir::workers {

Schedule schedule_from(const cir::Params& params) {
  Schedule schedule;
  // The contract's choices are "paper" and "reference".
  schedule.kind =
      params.get(keys::train::schedule) == "paper" ? Schedule::Kind::paper : Schedule::Kind::reference;
  schedule.steps = params.get(keys::train::lr_steps);
  schedule.warmup_epochs = params.get(keys::train::warmup_epochs);
  schedule.warmup_factor = params.get(keys::train::warmup_factor);
  return schedule;
}

double lr_factor(const Schedule& schedule, std::int64_t epoch) {
  const auto passed = std::count_if(schedule.steps.begin(), schedule.steps.end(),
                                    [epoch](std::int64_t step) { return step <= epoch; });
  double factor = std::pow(0.1, static_cast<double>(passed));
  if (schedule.kind == Schedule::Kind::reference && epoch < schedule.warmup_epochs) {
    const double alpha = static_cast<double>(epoch) / static_cast<double>(schedule.warmup_epochs);
    factor *= schedule.warmup_factor * (1.0 - alpha) + alpha;
  }
  return factor;
}

}  // namespace cir::workers
