#include "analysis/export.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <type_traits>

#include "analysis/render.hpp"
#include "analysis/tfevents.hpp"
#include "common/fields.hpp"

namespace cir::analysis {

namespace fs = std::filesystem;

std::vector<EpochMetric> epoch_metrics(const EpochRecord& epoch) {
  std::vector<EpochMetric> out;
  for_each_field<EpochRecord>([&](const auto& field) {
    using T = typename std::decay_t<decltype(field)>::Type;
    if constexpr (std::is_arithmetic_v<T>) {
      if (std::string_view(field.name) != "epoch")
        out.push_back({.metric = field.name, .value = static_cast<double>(epoch.*field.member)});
    }
  });
  for (const RecallValue& r : epoch.recalls)
    out.push_back({.metric = "recall", .split = r.split, .k = r.k, .value = r.value});
  return out;
}

std::string render_csv_long(const SweepData& sweep, Selection selection) {
  const std::vector<std::string> swept = swept_keys(sweep);
  std::string out = "trial,seed,status";
  for (const std::string& k : swept) out += fmt::format(",{}", csv_field(k));
  out += ",epoch,metric,split,k,value,reported\n";
  for (const TrialData& t : sweep.trials) {
    const TrialParams params(t.row.spec);
    std::string prefix = fmt::format("{},{},{}", t.row.spec.id, t.row.spec.seed, to_string(t.row.status));
    for (const std::string& k : swept) prefix += fmt::format(",{}", csv_field(display_value(params.text(k))));
    const auto chosen =
        t.row.status == TrialStatus::done ? select_epoch(t.epochs, selection) : std::optional<EpochRecord>{};
    for (const EpochRecord& e : t.epochs) {
      const bool reported = chosen && chosen->epoch == e.epoch;
      for (const EpochMetric& m : epoch_metrics(e)) {
        out += fmt::format("{},{},{},{},{},{:.17g},{}\n", prefix, e.epoch, m.metric, csv_field(m.split),
                           m.k > 0 ? std::to_string(m.k) : std::string(), m.value, reported ? 1 : 0);
      }
    }
  }
  return out;
}

std::string verdict_summary(const Table& table) {
  std::map<std::string, std::vector<std::string>> by_class;
  for (const Row& r : table.rows) {
    if (r.other_method) continue;
    for (std::size_t c = 0; c < r.cells.size(); ++c) {
      const Cell& cell = r.cells[c];
      const std::string where =
          fmt::format("{} {}", fmt::join(r.keys, " "),
                      table.columns[c].group.empty() ? table.columns[c].name
                                                     : table.columns[c].group + " " + table.columns[c].name);
      if (cell.verdict != Verdict::none) by_class["paper " + to_string(cell.verdict)].push_back(where);
      if (cell.versus == VersusBaseline::higher || cell.versus == VersusBaseline::lower)
        by_class[to_string(cell.versus) + " than the baseline"].push_back(where);
    }
  }
  std::vector<std::string> lines;
  for (const auto& [name, cells] : by_class)
    lines.push_back(fmt::format("{}: {}", name, fmt::join(cells, ", ")));
  return fmt::format("{}", fmt::join(lines, "\n"));
}

std::vector<fs::path> write_tensorboard(const SweepData& sweep, const Table& table, const fs::path& dir,
                                        double now) {
  const std::vector<std::string> swept = swept_keys(sweep);
  std::map<std::string, tfevents::HParam> types;
  std::vector<std::string> metric_tags;
  std::vector<fs::path> written;
  const auto tag_of = [](const EpochMetric& m) {
    return m.metric == "recall" ? fmt::format("recall/{}/R@{}", m.split, m.k) : m.metric;
  };
  for (const TrialData& t : sweep.trials) {
    if (t.epochs.empty()) continue;
    const TrialParams params(t.row.spec);
    std::map<std::string, tfevents::HParam> hparams;
    for (const std::string& k : swept) {
      const double v = params.number(k, NAN);
      if (!std::isnan(v) && !std::isinf(v))
        hparams[k] = v;
      else
        hparams[k] = display_value(params.text(k));
    }
    hparams["seed"] = static_cast<double>(t.row.spec.seed);
    for (const auto& [k, v] : hparams) types.emplace(k, v);
    tfevents::EventFile file(dir / t.row.spec.id, now);
    file.write(tfevents::session_start_event(now, t.row.spec.id, hparams));
    for (const EpochRecord& e : t.epochs) {
      for (const EpochMetric& m : epoch_metrics(e)) {
        const std::string tag = tag_of(m);
        if (std::find(metric_tags.begin(), metric_tags.end(), tag) == metric_tags.end())
          metric_tags.push_back(tag);
        file.write(tfevents::scalar_event(now, e.epoch, tag, static_cast<float>(m.value)));
      }
    }
    const tfevents::SessionStatus status =
        t.row.status == TrialStatus::done ? tfevents::SessionStatus::success
        : t.row.status == TrialStatus::failed || t.row.status == TrialStatus::diverged
            ? tfevents::SessionStatus::failure
            : tfevents::SessionStatus::running;
    file.write(tfevents::session_end_event(now, status));
    written.push_back(file.path());
  }
  tfevents::EventFile root(dir, now);
  root.write(tfevents::experiment_event(
      now, fmt::format("{}\n\nVerdicts ({}):\n{}", table.title, sweep.source, verdict_summary(table)), types,
      metric_tags));
  written.push_back(root.path());
  return written;
}

}  // namespace cir::analysis
