// Committing one epoch to a big store: a store of TRIALS trials x 60 epochs
// (6 recall rows each), then REPEATS times one more epoch row (and its
// recall rows) appended and committed with flush(). Prints one Markdown
// table row: the store's size, the median and the slowest commit, the CPU
// per commit, the full snapshot the writer writes as it closes, the first
// commit of the whole store (every chunk compressed), the disk's floor
// for rewriting that many bytes (written, fsynced, renamed, without HDF5),
// opening the store as cir-report does, beside the share of that open
// spent checking its checksum block (store/checksum.hpp), and what writing
// that block costs each full snapshot (reading the file back for its
// digest).
// Usage: bench_store STORE.h5 [REPEATS [TRIALS]]
#include <fmt/format.h>

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>

#include "bench/bench.hpp"
#include "common/digest.hpp"
#include "common/file_io.hpp"
#include "common/keys.hpp"
#include "store/checksum.hpp"
#include "store/store.hpp"

namespace {

using namespace cir;

// CPU seconds (user + system) this process has used.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec);
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

constexpr int kEpochs = 60;

// A trial with a realistic resolved-parameter text (~50 keys).
TrialSpec make_trial(int i) {
  TrialSpec spec;
  spec.index = i;
  spec.seed = i % 3;
  std::string params = "{";
  for (int k = 0; k < 48; ++k) params += fmt::format("\"section{}.key{}\":{},", k % 6, k, k * 0.25);
  params += fmt::format("\"{}\":{},\"{}\":{},\"z.point\":{}}}", cir::keys::loss::gamma0.name,
                        0.1 * (i % 8 + 1), cir::keys::train::lr.name, 4e-4 * (i % 5 + 1), i);
  spec.params_json = params;
  spec.id = short_digest(params + "#seed=" + std::to_string(spec.seed));
  spec.swept_keys = {cir::keys::loss::gamma0.name, cir::keys::train::lr.name};
  return spec;
}

// Values with full-precision mantissas, like measured losses and recalls
// (smooth synthetic values would compress far better than real ones).
EpochRecord make_record(const std::string& id, int epoch, int i) {
  std::mt19937_64 random(static_cast<std::uint64_t>(i) * 1000003u + static_cast<std::uint64_t>(epoch));
  std::uniform_real_distribution<double> noise(0.95, 1.05);
  EpochRecord r;
  r.trial_id = id;
  r.epoch = epoch;
  const double x = 1.0 / (1.0 + epoch);
  r.loss_total = 3.0 * x * noise(random);
  r.loss_info = 2.0 * x * noise(random);
  r.loss_u = 0.3 * x * noise(random);
  r.gamma = x;
  r.aug_std = 0.1 * x * noise(random);
  r.lr = 4e-4 * x;
  r.train_seconds = 100.0 * noise(random);
  r.eval_seconds = 10.0 * noise(random);
  r.samples_per_second = 800.0 * noise(random);
  for (const char* split : {"dress", "shirt", "toptee"}) {
    for (int k : {10, 50}) {
      // Recall@K as the evaluator computes it: hits / queries, in percent.
      const int queries = 2017;
      const auto hits = static_cast<int>(queries * (1.0 - x) * (k == 10 ? 0.4 : 0.7) * noise(random));
      r.recalls.push_back({split, k, 100.0 * hits / queries});
    }
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: bench_store STORE.h5 [REPEATS [TRIALS]]\n");
    return 2;
  }
  const std::filesystem::path path = argv[1];
  const int repeats = argc > 2 ? std::stoi(argv[2]) : 21;
  const int n_trials = argc > 3 ? std::stoi(argv[3]) : 1000;
  std::filesystem::remove(path);
  store::SweepHeader header;
  header.sweep = "bench";
  header.spec_text = "[sweep]\nname = \"bench\"\n";
  header.spec_digest = sha256_hex(header.spec_text);
  header.cir_version = "bench";
  std::optional<store::Writer> holder = store::Writer::open(path, header);
  store::Writer& writer = *holder;
  std::vector<TrialSpec> trials;
  for (int i = 0; i < n_trials; ++i) trials.push_back(make_trial(i));
  writer.add_trials(trials);
  for (int epoch = 0; epoch < kEpochs; ++epoch) {
    for (int i = 0; i < n_trials; ++i) writer.append_epoch(make_record(trials[i].id, epoch, i));
  }
  const double t0 = bench::now_seconds();
  writer.flush();
  const double first = bench::now_seconds() - t0;
  int next = 0;
  std::vector<double> cpu;
  const std::vector<double> seconds = bench::time_calls(
      [&] {
        const int i = next++;
        const double cpu0 = cpu_seconds();
        writer.append_epoch(make_record(trials[i].id, kEpochs, i));
        writer.flush();
        cpu.push_back(cpu_seconds() - cpu0);
      },
      repeats);
  // Closing folds the journal into a full snapshot: what every commit cost
  // before the journal, and what a compaction costs now.
  const double close0 = bench::now_seconds();
  holder.reset();
  const double full = bench::now_seconds() - close0;
  const auto size = static_cast<double>(std::filesystem::file_size(path));
  // The disk's share: the same number of bytes written, fsynced and renamed
  // the same way, without HDF5.
  const std::string bytes(static_cast<std::size_t>(size), 'x');
  const std::filesystem::path copy = path.string() + ".floor";
  const std::vector<double> floor = bench::time_calls([&] { replace_file(copy, {bytes}); }, repeats);
  std::filesystem::remove(copy);
  // Reader::open: one read of the file, the checksum, HDF5's parse and the
  // rows sorted by trial; the checksum alone on the same bytes; and writing
  // the checksum block again into the closed snapshot, as every full
  // snapshot does once HDF5 has closed it.
  const int opens = n_trials >= 100000 ? 3 : 5;
  const std::vector<double> open = bench::time_calls([&] { (void)store::Reader::open(path); }, opens);
  std::vector<char> file(static_cast<std::size_t>(size));
  {
    std::ifstream in(path, std::ios::binary);
    in.read(file.data(), static_cast<std::streamsize>(file.size()));
  }
  const std::vector<double> check =
      bench::time_calls([&] { (void)store::check_snapshot(file, path.string()); }, opens);
  const std::vector<double> seal =
      bench::time_calls([&] { store::seal_snapshot(path, store::kFormatVersion); }, opens);
  fmt::print(
      "| {} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.0f} | {:.0f} | {:.1f} | {:.0f} | {:.0f} | {:.0f} |\n",
      n_trials, size / 1e6, 1e3 * bench::median(seconds),
      1e3 * *std::max_element(seconds.begin(), seconds.end()), 1e3 * bench::median(cpu), 1e3 * full,
      1e3 * first, 1e3 * bench::median(floor), 1e3 * bench::median(open), 1e3 * bench::median(check),
      1e3 * bench::median(seal));
  return 0;
}
