#include "workers/lr_schedule.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace cir::workers {

Schedule schedule_from(const cir::Params& params) {
  Schedule schedule;
  const std::string kind = params.string("train.schedule");
  if (kind == "paper") {
    schedule.kind = Schedule::Kind::paper;
  } else if (kind == "reference") {
    schedule.kind = Schedule::Kind::reference;
  } else {
    throw Error("unknown schedule '" + kind + "'", Where{.key = "train.schedule", .trial = params.trial()},
                "use \"paper\" or \"reference\"");
  }
  schedule.steps = params.integers("train.lr_steps");
  for (const std::int64_t step : schedule.steps) {
    if (step < 0) {
      throw Error("lr step " + std::to_string(step) + " is negative",
                  Where{.key = "train.lr_steps", .trial = params.trial()}, "lr steps are 0-based epochs");
    }
  }
  schedule.warmup_epochs = params.integer("train.warmup_epochs");
  schedule.warmup_factor = params.number("train.warmup_factor");
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
