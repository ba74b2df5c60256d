// A deterministic stand-in for the trainer, for the launcher's tests and
// benchmark. Each epoch from resume_from runs `steps` steps that sleep (and
// all-reduce over the group, checking that every rank runs the same trial),
// asks stop_requested() at every step boundary, and reports a record whose
// numbers depend only on the trial and the epoch. It throws on demand. Each
// step passes the fault point train.step (common/fault.hpp) and tells the
// stall inspector its epoch and step, like the trainer.
//
// Configured from the environment (so the same program serves every test):
//   CIR_FAKE_STEP_MS          milliseconds per step (default 5)
//   CIR_FAKE_STEPS            steps per epoch (default 4)
//   CIR_FAKE_SECONDS_PER_COST when set, an epoch lasts expected_cost / epochs × this
//   CIR_FAKE_FAIL             "key=value": trials whose parameter matches throw ...
//   CIR_FAKE_FAIL_EPOCH       ... at this epoch (default 1)
//   CIR_FAKE_FAIL_TIMES       ... at most this many times in each process
//                             (default: every time), so a retry succeeds
//   CIR_FAKE_AUDIT            folder: each rank appends what it ran to rank<N>.log
#pragma once

#include <memory>
#include <string>

#include "common/trial.hpp"

namespace cir::testing {

struct FakeOptions {
  double step_seconds = 0.005;
  int steps_per_epoch = 4;
  double seconds_per_cost = 0.0;
  std::string fail_key, fail_value;  // fail_value: the parameter's JSON text
  int fail_epoch = 1;
  int fail_times = -1;  // < 0: no limit
  std::string audit_dir;
};

FakeOptions fake_options_from_env();

// The loss the fake reports for a trial at an epoch.
double fake_loss(const TrialSpec& trial, int epoch);

std::unique_ptr<TrialRunner> make_fake_runner(const FakeOptions& options);

}  // namespace cir::testing
