// bench_report_store: writes a results store with made-up but plausible
// numbers through store::Writer, for cir-report's benchmark and for looking
// at its figures without running a sweep.
//   bench_report_store OUT.h5 [--points P] [--seeds S] [--epochs E]
// γ0 takes P values: the paper's Table 5 values for P = 8, else log-spaced
// from 0.1 to 10 and ∞ last; every trial
// has E epochs of losses and R@1/10/50 on one split "test".
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/keys.hpp"
#include "common/rng.hpp"
#include "store/store.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Writes a results store of made-up numbers (a γ0 sweep) for cir-report's benchmark.",
               "bench_report_store"};
  std::string path;
  int points = 8, seeds = 3, epochs = 20;
  app.add_option("out", path, "store to write (replaced)")->required();
  app.add_option("--points", points, "γ0 values (the last is ∞)")->check(CLI::PositiveNumber);
  app.add_option("--seeds", seeds, "seeds per γ0")->check(CLI::PositiveNumber);
  app.add_option("--epochs", epochs, "epochs per trial")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    std::filesystem::remove(path);
    cir::store::SweepHeader header;
    header.sweep = std::filesystem::path(path).stem().string();
    header.spec_text = fmt::format("[sweep]\nname = \"{}\"\nseeds = {}\n", header.sweep, seeds);
    header.spec_digest = cir::sha256_hex(header.spec_text);
    header.cir_version = "bench";
    cir::store::Writer writer = cir::store::Writer::open(path, header);
    std::vector<cir::TrialSpec> trials;
    std::vector<double> gammas;
    for (int p = 0; p < points; ++p) {
      // The paper's Table 5 values for 8 points, log-spaced from 0.1 to 10 otherwise.
      const std::vector<double> paper = {0.1, 0.5, 1, 2, 3, 5, 10, INFINITY};
      const double spaced =
          std::round(1000.0 * 0.1 * std::pow(100.0, p / std::max(1.0, points - 2.0))) / 1000.0;
      const double g = points == 8                     ? paper[static_cast<std::size_t>(p)]
                       : p == points - 1 && points > 1 ? INFINITY
                                                       : spaced;
      for (int s = 0; s < seeds; ++s) {
        cir::TrialSpec t;
        t.index = static_cast<std::int64_t>(trials.size());
        t.seed = s;
        t.params_json =
            fmt::format(R"({{"{}":"synthetic","{}":{},"{}":{}}})", cir::keys::data::dataset.name,
                        cir::keys::loss::gamma0.name, std::isinf(g) ? "\"inf\"" : fmt::format("{}", g),
                        cir::keys::train::epochs.name, epochs);
        t.id = cir::short_digest(t.params_json + "#seed=" + std::to_string(s));
        t.swept_keys = {cir::keys::loss::gamma0.name};
        trials.push_back(t);
        gammas.push_back(g);
      }
    }
    writer.add_trials(trials);
    for (std::size_t i = 0; i < trials.size(); ++i) {
      const cir::TrialSpec& t = trials[i];
      const double g = gammas[i];
      // γ0 near 1 helps most; the baseline (∞) overfits: its loss falls towards zero.
      const double help = std::isinf(g) ? 0.0 : 3.0 * std::exp(-std::pow(std::log10(g), 2) * 2.0);
      const double floor = std::isinf(g) ? 0.02 : 0.25 + 0.1 / (1.0 + g);
      cir::CounterRng rng(static_cast<std::uint64_t>(t.seed) * 1000003u + i, cir::purpose::test);
      writer.set_status(t.id, cir::TrialStatus::running);
      for (int e = 0; e < epochs; ++e) {
        cir::EpochRecord r;
        r.trial_id = t.id;
        r.epoch = e;
        const double progress = 1.0 - std::exp(-e / (epochs / 4.0));
        r.loss_total = floor + 2.8 * std::exp(-e / (epochs / 5.0)) +
                       0.02 * rng.normal_at(static_cast<std::uint64_t>(4 * e));
        r.loss_info = r.loss_total * 0.8;
        r.loss_u = r.loss_total * 0.3;
        r.gamma = std::isinf(g) ? 0.0 : std::exp(-g * e / epochs);
        r.lr = 0.04;
        r.train_seconds = 30.0 + rng.uniform_at(static_cast<std::uint64_t>(4 * e + 1));
        r.eval_seconds = 3.0;
        r.samples_per_second = 100.0;
        const double noise = 0.6 * rng.normal_at(static_cast<std::uint64_t>(4 * e + 2));
        const double late = e > epochs * 0.8 ? -0.05 * (e - epochs * 0.8) : 0.0;  // a little overfitting
        const double r10 = 30.0 + 20.0 * progress + help * progress + noise + late;
        r.recalls = {{"test", 1, r10 * 0.3}, {"test", 10, r10}, {"test", 50, std::min(99.0, r10 * 1.45)}};
        writer.append_epoch(r);
      }
      writer.set_status(t.id, cir::TrialStatus::done);
    }
    writer.flush();
  } catch (const cir::Error& e) {
    std::fprintf(stderr, "bench_report_store: %s\n", e.what());
    return static_cast<int>(e.code());
  }
  return 0;
}
