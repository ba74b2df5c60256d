#include "launcher/cli.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>

#include "common/error.hpp"
#include "common/log.hpp"
#include "launcher/expand.hpp"
#include "launcher/spec.hpp"

namespace cir::launcher {

namespace {

constexpr const char* kDescription =
    "Runs a sweep spec's trials on MPI groups of ranks and writes them to a results store.\n"
    "Exit codes: 0 all trials done, 2 usage or spec error, 3 the store refuses the spec,\n"
    "4 finished with failed or diverged trials, 75 preempted (rerun the same command to resume).";

}  // namespace

int sweep_main(int argc, char** argv, const RunnerFactory& factory, const std::string& why_no_runner) {
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
  app.add_flag("--force-new-spec", options.force_new_spec,
               "resume a store whose spec changed, keeping the trials still in the spec");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : static_cast<int>(ExitCode::usage);
  }
  if (!store.empty()) options.store = store;

  try {
    SweepSpec spec = load_spec(options.spec, options.sets);
    if (options.store) spec.store = *options.store;
    const std::vector<TrialSpec> trials = expand(spec);
    if (options.dry_run) {
      std::fputs(trial_table(spec, trials).c_str(), stdout);
      return 0;
    }
    if (!factory)
      throw Error(why_no_runner.empty() ? "this build of cir-sweep cannot train" : why_no_runner, Where{},
                  "--dry-run still lists the trials");
    throw Error("training needs the MPI launcher, which this build does not have yet", Where{},
                "--dry-run lists the trials");
  } catch (const Error& e) {
    log::error("{}", e.what());
    return static_cast<int>(e.code());
  }
}

}  // namespace cir::launcher
