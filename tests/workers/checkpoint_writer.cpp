// workers_checkpoint_writer DIR: saves checkpoints into DIR forever, each a
// ~1 MB tensor filled with its step number plus {"step": step}, and prints
// "saved STEP" after each, for the crash test to kill it at a random moment.
#include <cstdio>
#include <string>

#include "workers/checkpoint.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: workers_checkpoint_writer DIR\n");
    return 2;
  }
  cir::workers::CheckpointDir dir(argv[1], 2);
  for (std::int64_t step = 0;; ++step) {
    dir.save({{"step", step}}, {{"weights", torch::full({1 << 18}, static_cast<float>(step))},
                                {"model.layer1.bias", torch::full({3}, step)}});
    std::printf("saved %lld\n", static_cast<long long>(step));
    std::fflush(stdout);
  }
}
