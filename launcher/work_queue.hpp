// Longest-expected-first scheduling: the coordinator's queue of trial runs.
// A free group always gets the pending run with the most expected work left,
// which keeps the makespan near max(total / groups, longest).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/trial.hpp"

namespace cir::launcher {

// One run to hand out: a trial (by its index in the sweep's list) and the
// epoch to continue from.
struct Work {
  std::size_t trial = 0;
  std::int32_t resume_from = 0;
  double remaining_cost = 0.0;  // expected_cost × share of epochs left
};

class WorkQueue {
 public:
  // `epochs` is the trial's train.epochs (for the share of work left).
  void push(const TrialSpec& trial, std::size_t index, std::int32_t resume_from, std::int32_t epochs);
  // The run with the most work left (ties: the lower trial index first).
  std::optional<Work> pop();
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  double total_cost() const;

 private:
  std::vector<Work> items_;
};

}  // namespace cir::launcher
