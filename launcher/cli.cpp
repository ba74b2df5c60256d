#include "launcher/cli.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "launcher/expand.hpp"
#include "launcher/spec.hpp"
#include "launcher/sweep.hpp"

namespace cir::launcher {

namespace {

constexpr const char* kDescription =
    "Runs a sweep spec's trials on MPI groups of ranks and writes them to a results store.\n"
    "Exit codes: 0 all trials done, 2 usage or spec error, or a dataset, weights file or store\n"
    "folder the trials need and cannot have (checked before any trial starts), 3 the store refuses the "
    "spec,\n"
    "4 finished with failed or diverged trials, 74 an I/O fault (a full disk or a device error;\n"
    "free space or fix it, then rerun the same command to resume), 75 preempted (rerun the same\n"
    "command to resume).";

}  // namespace

int sweep_main(int argc, char** argv, const RunnerFactory& factory, const InputCheck& check_inputs,
               const std::string& why_no_runner) {
  CLI::App app{kDescription, "cir-sweep"};
  SweepOptions options;
  std::string store;
  app.add_option("spec", options.spec, "sweep spec (TOML), e.g. sweeps/gamma0.toml")->required();
  app.add_option("--set", options.sets,
                 "override a key: --set train.epochs=2 (repeatable; values in TOML syntax)")
      ->take_all()
      ->allow_extra_args(false);
  app.add_flag("--dry-run", options.dry_run, "print the trials as a table and exit");
  app.add_option("--store", store, "results store path (default: sweep.store, or results/<name>.h5)");
  std::string requeue_cause;
  app.add_option("--count-requeue", requeue_cause,
                 "for slurm/run-sweep: count a stop (timeout or preemption) in the store and exit 0 "
                 "if the job may be requeued, 1 if sweep.max_requeues timeouts are spent")
      ->check(CLI::IsMember({"timeout", "preemption"}));
  app.add_flag("--force-new-spec", options.force_new_spec,
               "resume a store whose spec changed, keeping the trials still in the spec");
  std::string progress = "auto";
  app.add_option("--progress", progress,
                 "progress on stdout: live (a view of the running trials, redrawn in place), lines "
                 "(timestamped lines, for files and Slurm logs) or none; auto (the default): live on an "
                 "interactive terminal, lines elsewhere")
      ->check(CLI::IsMember({"auto", "live", "lines", "none"}));
  app.add_flag("--retry-failed", options.retry_failed,
               "run the failed and diverged trials again, each as its next attempt from epoch 0 (the "
               "rows of earlier attempts stay in the store, marked with their attempt)");
  app.footer(
      "Examples:\n"
      "  cir-sweep sweeps/gamma0.toml --dry-run\n"
      "  mpirun -n 4 cir-sweep sweeps/synthetic/gamma0.toml --set train.epochs=2\n"
      "Groups of sweep.ranks_per_trial consecutive ranks run one trial each; rank 0 also\n"
      "coordinates. SIGTERM or SIGUSR1 to the ranks, at any moment, stops every group at\n"
      "its next step, commits, and exits 75; rerunning the same command resumes from the\n"
      "store. Stop a plain mpirun with SIGUSR1 (it forwards it; after a SIGTERM of its own\n"
      "mpirun exits 1 whatever the ranks did), or run under slurm/run-sweep, which ends\n"
      "in 75 for either signal.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : static_cast<int>(ExitCode::usage);
  }
  if (!store.empty()) options.store = store;
  options.progress = parse_progress(progress);
  // A sweep stops gracefully on SIGTERM and SIGUSR1. Everything else ends at
  // once on them, as before cir-sweep blocked them (launcher/trampoline.cpp).
  if (requeue_cause.empty() && !options.dry_run && factory)
    install_stop_handlers();
  else
    unblock_stop_signals();

  if (!requeue_cause.empty()) return count_requeue(options, requeue_cause);
  if (options.dry_run) {
    try {
      SweepSpec spec = load_spec(options);
      std::fputs(trial_table(spec, expand(spec)).c_str(), stdout);
      return 0;
    } catch (const Error& e) {
      log::error("{}", e.what());
      return static_cast<int>(e.code());
    }
  }
  if (!factory) {
    // Before MPI starts: only the first rank of an mpirun job says it.
    const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
    if (rank == nullptr || std::string_view(rank) == "0") {
      const Error error(why_no_runner.empty() ? "this build of cir-sweep cannot train" : why_no_runner,
                        Where{}, "--dry-run still lists the trials");
      log::error("{}", error.what());
    }
    return static_cast<int>(ExitCode::usage);
  }
  return run_sweep(options, factory, check_inputs);
}

}  // namespace cir::launcher
