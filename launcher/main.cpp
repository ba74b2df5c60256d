// cir-sweep-main: the launcher's program, which cir-sweep execs
// (launcher/trampoline.cpp). It only picks the trial runner and the
// pre-flight check of the trials' inputs: workers/'s when this build has
// them, none otherwise (then only --dry-run works).
#include "launcher/cli.hpp"

#ifdef CIR_HAVE_WORKERS
#include "workers/preflight.hpp"
#include "workers/runner.hpp"
#endif

int main(int argc, char** argv) {
#ifdef CIR_HAVE_WORKERS
  return cir::launcher::sweep_main(
      argc, argv, [] { return cir::workers::make_trainer(); }, cir::workers::check_inputs);
#else
  return cir::launcher::sweep_main(argc, argv, {}, {},
                                   "this cir-sweep was built without workers/ (the LibTorch trainer): "
                                   "configure with -DCIR_WITH_TORCH=ON to train");
#endif
}
