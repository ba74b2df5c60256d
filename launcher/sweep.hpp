// One sweep on the MPI world (docs/architecture.md "A sweep, end to end"): rank 0
// loads the spec, opens the store and broadcasts the trials; the world splits
// into groups; rank 0's coordinator thread hands out trials; every group runs
// them through the TrialRunner until the queue is empty or a stop signal
// arrives. Called by sweep_main (launcher/cli.hpp) after it parsed argv.
#pragma once

#include <string>

#include "launcher/cli.hpp"
#include "launcher/spec.hpp"
#include "store/store.hpp"

namespace cir::launcher {

// Initialises MPI (MPI_THREAD_MULTIPLE), runs the sweep, finalises MPI and
// returns the exit code every rank agrees on. Before the store is opened,
// rank 0 runs the pre-flight check (launcher/preflight.hpp) with
// `check_inputs`.
int run_sweep(const SweepOptions& options, const RunnerFactory& factory, const InputCheck& check_inputs);

// The spec of a command line: its file with the --set overrides and --store.
SweepSpec load_spec(const SweepOptions& options);

// The store header of a spec: its name, resolved text and digest.
store::SweepHeader sweep_header(const SweepSpec& spec);

// `cir-sweep SPEC --count-requeue timeout|preemption` (no MPI): counts one
// stop of a Slurm job of the sweep in its store and returns 0 when the job
// may be requeued (always after a preemption; after a timeout while the
// count is at most sweep.max_requeues), 1 when not, or an error's exit code.
int count_requeue(const SweepOptions& options, const std::string& cause);

}  // namespace cir::launcher
