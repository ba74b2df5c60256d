// bench_eval gen DIR Q G D SEED: random unit features, written as raw
//   float32 to DIR/queries.f32 [Q, D] and DIR/gallery.f32 [G, D].
// bench_eval search DIR Q G D K REPEATS: times cir's blocked exact top-K
//   search and its Recall@K ranking on them, writes the top-K indices to
//   DIR/cir_topk.i64 and prints one line of JSON (medians, peak RSS).
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "bench/bench.hpp"
#include "workers/recall.hpp"

namespace {

void write_raw(const std::string& path, const torch::Tensor& t) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
}

torch::Tensor read_raw(const std::string& path, std::int64_t rows, std::int64_t cols) {
  torch::Tensor t = torch::empty({rows, cols});
  std::ifstream in(path, std::ios::binary);
  in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
  if (!in) throw std::runtime_error("cannot read " + path);
  return t;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// The resident memory now, from /proc/self/statm.
double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if ((mode != "gen" || argc != 7) && (mode != "search" || argc != 8)) {
    std::fprintf(stderr, "usage: bench_eval gen DIR Q G D SEED | bench_eval search DIR Q G D K REPEATS\n");
    return 2;
  }
  const std::string dir = argv[2];
  const std::int64_t q = std::stoll(argv[3]), g = std::stoll(argv[4]), d = std::stoll(argv[5]);
  if (mode == "gen") {
    torch::manual_seed(std::stoull(argv[6]));
    write_raw(dir + "/queries.f32", torch::nn::functional::normalize(torch::randn({q, d})));
    write_raw(dir + "/gallery.f32", torch::nn::functional::normalize(torch::randn({g, d})));
    return 0;
  }
  at::set_num_threads(static_cast<int>(std::thread::hardware_concurrency()));
  const std::int64_t k = std::stoll(argv[6]);
  const int repeats = std::stoi(argv[7]);
  const torch::Tensor queries = read_raw(dir + "/queries.f32", q, d),
                      gallery = read_raw(dir + "/gallery.f32", g, d);
  const double input_mib = static_cast<double>(queries.nbytes() + gallery.nbytes()) / (1 << 20);
  const double before_mib = rss_mib();

  cir::workers::TopK top;
  const auto search =
      cir::bench::time_calls([&] { top = cir::workers::search_topk(queries, gallery, k); }, repeats, 0);
  // Recall ranking with each query's true match at a random gallery item
  // and its "reference" excluded, as in the Fashion200k protocol.
  std::vector<cir::workers::QueryTruth> truth(static_cast<std::size_t>(q));
  for (std::int64_t i = 0; i < q; ++i)
    truth[static_cast<std::size_t>(i)] = {{(i * 7919) % g}, (i * 104729 + 1) % g};
  std::vector<std::int64_t> ranks;
  const auto rank =
      cir::bench::time_calls([&] { ranks = cir::workers::match_ranks(queries, gallery, truth); }, repeats, 0);
  const torch::Tensor indices = top.indices.contiguous();
  write_raw(dir + "/cir_topk.i64", indices);
  const double recall50 = cir::workers::recall_at(ranks, {50})[0];
  std::printf(
      "{\"search_s\": %.3f, \"ranks_s\": %.3f, \"peak_rss_mib\": %.0f, \"input_mib\": %.0f, \"threads\": %d, "
      "\"recall50\": %.3f, \"rss_before_mib\": %.0f}\n",
      cir::bench::median(search), cir::bench::median(rank), peak_rss_mib(), input_mib, at::get_num_threads(),
      recall50, before_mib);
}
