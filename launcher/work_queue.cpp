#include "launcher/work_queue.hpp"

#include <algorithm>

namespace cir::launcher {

void WorkQueue::push(const TrialSpec& trial, std::size_t index, std::int32_t resume_from,
                     std::int32_t epochs) {
  const double left = epochs > 0 ? static_cast<double>(std::max(0, epochs - resume_from)) / epochs : 1.0;
  items_.push_back(
      Work{.trial = index, .resume_from = resume_from, .remaining_cost = trial.expected_cost * left});
}

std::optional<Work> WorkQueue::pop() {
  if (items_.empty()) return std::nullopt;
  auto best = std::min_element(items_.begin(), items_.end(), [](const Work& a, const Work& b) {
    if (a.remaining_cost != b.remaining_cost) return a.remaining_cost > b.remaining_cost;
    return a.trial < b.trial;
  });
  Work work = *best;
  items_.erase(best);
  return work;
}

double WorkQueue::total_cost() const {
  double total = 0.0;
  for (const auto& w : items_) total += w.remaining_cost;
  return total;
}

}  // namespace cir::launcher
