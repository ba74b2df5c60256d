// cir-sweep-fake: cir-sweep with the fake runner (tests/launcher/fake_runner.hpp),
// for the launcher's MPI tests and benchmark.
#include "launcher/cli.hpp"
#include "tests/launcher/fake_runner.hpp"

int main(int argc, char** argv) {
  return cir::launcher::sweep_main(
      argc, argv, [] { return cir::testing::make_fake_runner(cir::testing::fake_options_from_env()); });
}
