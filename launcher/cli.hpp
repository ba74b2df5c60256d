// cir-sweep's command line: `[mpirun -n N] cir-sweep SPEC [--set key=value]…
// [--dry-run] [--store PATH] [--force-new-spec] [--retry-failed]`. The program's main() only
// chooses the trial runner; everything else lives here so the launcher's
// tests drive the same code with a fake runner.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/preflight.hpp"
#include "common/trial.hpp"
#include "launcher/progress.hpp"

namespace cir::launcher {

struct SweepOptions {
  std::filesystem::path spec;
  std::vector<std::string> sets;               // --set key=value, in order
  bool dry_run = false;                        // print the trials and exit 0
  std::optional<std::filesystem::path> store;  // --store: overrides sweep.store
  bool force_new_spec = false;                 // keep a store whose spec changed
  Progress progress = Progress::automatic;     // --progress (launcher/progress.hpp)
  bool retry_failed = false;                   // --retry-failed: run failed and diverged trials again
};

// Makes the runner every rank uses; empty when this build cannot train.
using RunnerFactory = std::function<std::unique_ptr<TrialRunner>()>;

// Parses argv, runs the sweep (or the dry run), and returns the process exit
// code (docs/architecture.md "Errors and exit codes"); errors are printed, not thrown.
// `check_inputs` is the pre-flight check of what the runner's trials read
// (launcher/preflight.hpp); `why_no_runner` is the message for a build
// without a runner.
int sweep_main(int argc, char** argv, const RunnerFactory& factory, const InputCheck& check_inputs = {},
               const std::string& why_no_runner = {});

}  // namespace cir::launcher
