// What the stall inspector's watch costs a collective (docs/architecture.md
// "Stalls"): the same float sum over the ranks as a plain blocking
// MPI_Allreduce (what the trainer's blocking sums were before the watch), as
// MPI_Iallreduce + MPI_Wait (what GradientSync's bucket sums were) and as a
// watched one (common/collective_watch.hpp: numbered, started with
// MPI_Iallreduce and tested until done, as every collective of a trial is
// now), with a StallInspector (launcher/stall_inspector.hpp, the default
// limits) gathering the ranks' states beside them. Blocks of the three
// alternate; each block's mean time per call is one sample. Prints, on rank
// 0, one line per size: floats, then the median µs per call of each.
//
//   mpirun -n 2 build/bin/bench_collectives [BLOCKS] [CALLS_PER_BLOCK]
#include <mpi.h>

#include <fmt/format.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench.hpp"
#include "common/collective_watch.hpp"
#include "common/mpi.hpp"
#include "launcher/stall_inspector.hpp"

namespace {

using cir::bench::median;
using cir::bench::now_seconds;

// Seconds per call of `calls` calls of f.
template <typename F>
double per_call(F&& f, int calls) {
  const double start = now_seconds();
  for (int i = 0; i < calls; ++i) f();
  return (now_seconds() - start) / calls;
}

void bench(int blocks, int calls, int rank) {
  const MPI_Comm comm = MPI_COMM_WORLD;
  // 1 float: the stop check and the error agreement; 1 Ki: batch-norm
  // statistics; 256 Ki and 4 Mi: GradientSync's buckets (1 MiB and 16 MiB).
  for (const int count : {1, 1 << 10, 1 << 18, 1 << 22}) {
    const std::vector<float> mine(static_cast<std::size_t>(count), 1.0f);
    std::vector<float> sum(mine.size());
    const auto plain = [&] {
      cir::mpi::check(MPI_Allreduce(mine.data(), sum.data(), count, MPI_FLOAT, MPI_SUM, comm),
                      "MPI_Allreduce", comm);
    };
    const auto waited = [&] {
      MPI_Request request = MPI_REQUEST_NULL;
      cir::mpi::check(MPI_Iallreduce(mine.data(), sum.data(), count, MPI_FLOAT, MPI_SUM, comm, &request),
                      "MPI_Iallreduce", comm);
      cir::mpi::check(MPI_Wait(&request, MPI_STATUS_IGNORE), "MPI_Wait", comm);
    };
    const auto watched = [&] {
      cir::mpi::collective(
          comm, "MPI_Iallreduce",
          [&](MPI_Request* request) {
            return MPI_Iallreduce(mine.data(), sum.data(), count, MPI_FLOAT, MPI_SUM, comm, request);
          },
          [] { return 0; });
    };
    const int n = count >= (1 << 18) ? std::max(1, calls / 50) : calls;
    plain();
    waited();
    watched();
    std::vector<double> plain_s, waited_s, watched_s;
    for (int b = 0; b < blocks; ++b) {
      plain_s.push_back(per_call(plain, n));
      waited_s.push_back(per_call(waited, n));
      watched_s.push_back(per_call(watched, n));
    }
    if (rank == 0)
      fmt::print("{} {:.3f} {:.3f} {:.3f}\n", count, median(plain_s) * 1e6, median(waited_s) * 1e6,
                 median(watched_s) * 1e6);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  const int blocks = argc > 1 ? std::atoi(argv[1]) : 21;
  const int calls = argc > 2 ? std::atoi(argv[2]) : 1000;
  int rank = 0, size = 1;
  try {
    cir::mpi::adopt(MPI_COMM_WORLD, "world");
    cir::mpi::check(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
    cir::mpi::check(MPI_Comm_size(MPI_COMM_WORLD, &size), "MPI_Comm_size");
    std::vector<int> ranks;
    for (int r = 0; r < size; ++r) ranks.push_back(r);
    cir::launcher::StallInspector inspector(MPI_COMM_WORLD, ranks,
                                            std::vector<std::string>(ranks.size(), "-"),
                                            cir::launcher::StallLimits{.warning = 60, .timeout = 600},
                                            [](const std::string&, const std::string&) {});
    cir::mpi::begin_trial();
    bench(blocks, calls, rank);
    cir::mpi::leave_trial();
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_collectives: {}\n", e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return 0;
}
