// One sweep on the MPI world (DESIGN.md "One sweep, end to end"): rank 0
// loads the spec, opens the store and broadcasts the trials; the world splits
// into groups; rank 0's coordinator thread hands out trials; every group runs
// them through the TrialRunner until the queue is empty or a stop signal
// arrives. Called by sweep_main (launcher/cli.hpp) after it parsed argv.
#pragma once

#include <string>

#include "launcher/cli.hpp"

namespace cir::launcher {

// Initialises MPI (MPI_THREAD_MULTIPLE), runs the sweep, finalises MPI and
// returns the exit code every rank agrees on.
int run_sweep(const SweepOptions& options, const RunnerFactory& factory);

}  // namespace cir::launcher
