#include "analysis/status.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/keys.hpp"

namespace cir::analysis {

namespace {

std::string duration(double seconds) {
  const auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return fmt::format("{} min {} s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{} h {} min", s / 3600, (s % 3600) / 60);
  return fmt::format("{} d {} h", s / 86400, (s % 86400) / 3600);
}

std::string utc(double unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buffer;
}

std::int64_t planned_epochs(const TrialData& t) {
  const double e = TrialParams(t.row.spec).number(keys::train::epochs.name, 0.0);
  return e > 0 ? static_cast<std::int64_t>(e) : t.row.epochs_done;
}

std::string point_label(const TrialData& t, const std::vector<std::string>& swept) {
  const TrialParams params(t.row.spec);
  std::vector<std::string> parts;
  for (const std::string& k : swept) parts.push_back(fmt::format("{}={}", k, display_value(params.text(k))));
  return fmt::format("{}", fmt::join(parts, " "));
}

}  // namespace

bool in_progress(const SweepData& sweep) {
  return std::any_of(sweep.trials.begin(), sweep.trials.end(), [](const TrialData& t) {
    return t.row.status == TrialStatus::pending || t.row.status == TrialStatus::running;
  });
}

namespace {

// The counts behind both renderings.
struct Progress {
  std::map<TrialStatus, int> count;
  std::int64_t done_epochs = 0, planned = 0, remaining = 0;
  double seconds = 0.0;  // train + eval time of the committed epochs
  std::int64_t timed = 0;
  int parallel() const {
    return std::max(1, count.contains(TrialStatus::running) ? count.at(TrialStatus::running) : 0);
  }
  std::optional<double> per_epoch() const {
    if (timed == 0) return std::nullopt;
    return seconds / static_cast<double>(timed);
  }
  std::optional<double> eta() const {
    if (remaining == 0) return 0.0;
    if (const auto p = per_epoch()) return *p * static_cast<double>(remaining) / parallel();
    return std::nullopt;
  }
};

Progress progress_of(const SweepData& sweep) {
  Progress p;
  for (TrialStatus s : {TrialStatus::pending, TrialStatus::running, TrialStatus::done, TrialStatus::failed,
                        TrialStatus::diverged})
    p.count[s] = 0;
  for (const TrialData& t : sweep.trials) {
    ++p.count[t.row.status];
    const std::int64_t planned = planned_epochs(t);
    p.done_epochs += t.row.epochs_done;
    if (t.row.status == TrialStatus::pending || t.row.status == TrialStatus::running) {
      p.planned += planned;
      p.remaining += std::max<std::int64_t>(0, planned - t.row.epochs_done);
    } else {
      p.planned += t.row.epochs_done;
    }
    for (const EpochRecord& e : t.epochs) {
      p.seconds += e.train_seconds + e.eval_seconds;
      ++p.timed;
    }
  }
  return p;
}

std::optional<double> best_r10(const TrialData& t) {
  const auto best = select_epoch(t.epochs, Selection::best_r10);
  return best ? metric_value(*best, Metric{.k = 10}) : std::nullopt;
}

}  // namespace

std::string render_status(const SweepData& sweep, double now) {
  Progress p = progress_of(sweep);
  std::map<TrialStatus, int>& count = p.count;
  std::string out = fmt::format("Sweep {} ({}), updated {} ({} ago)\n\n", sweep.header.sweep, sweep.source,
                                utc(sweep.header.updated), duration(now - sweep.header.updated));
  out += fmt::format("Trials: {} · done {} · running {} · pending {} · failed {} · diverged {}\n",
                     sweep.trials.size(), count[TrialStatus::done], count[TrialStatus::running],
                     count[TrialStatus::pending], count[TrialStatus::failed], count[TrialStatus::diverged]);
  const double percent =
      p.planned > 0 ? 100.0 * static_cast<double>(p.done_epochs) / static_cast<double>(p.planned) : 100.0;
  out += fmt::format("Epochs: {} of {} ({:.0f}%)", p.done_epochs, p.planned, percent);
  if (p.remaining == 0) {
    out += " · finished\n";
  } else if (!p.per_epoch()) {
    out += " · ETA unknown until the first epoch is committed\n";
  } else {
    const int parallel = p.parallel();
    out += fmt::format(" · {:.1f} s per epoch · ETA {} with {} trial{} at a time\n", *p.per_epoch(),
                       duration(*p.eta()), parallel, parallel == 1 ? "" : "s");
  }
  const std::vector<std::string> swept = swept_keys(sweep);
  const bool all = sweep.trials.size() <= 30;
  std::string rows;
  for (const TrialData& t : sweep.trials) {
    const TrialStatus s = t.row.status;
    if (!all && (s == TrialStatus::done || s == TrialStatus::pending)) continue;
    const auto r10 = best_r10(t);
    std::string note = t.row.error;
    std::replace(note.begin(), note.end(), '\n', ' ');
    std::replace(note.begin(), note.end(), '|', '/');
    rows += fmt::format("| {} | {} | {} | {} | {}/{} | {} | {} | {} |\n", t.row.spec.id,
                        point_label(t, swept), t.row.spec.seed, to_string(s), t.row.epochs_done,
                        planned_epochs(t), r10 ? fmt::format("{:.2f}", *r10) : "—",
                        t.epochs.empty() ? "—" : fmt::format("{:.4f}", t.epochs.back().loss_total), note);
  }
  if (!rows.empty()) {
    out += all ? "\n" : "\nRunning, failed and diverged trials:\n\n";
    out += "| trial | point | seed | status | epochs | best R@10 | last loss | error |\n";
    out += "|---|---|--:|---|--:|--:|--:|---|\n" + rows;
  }
  return out;
}

std::string render_status_json(const SweepData& sweep, double now) {
  const Progress p = progress_of(sweep);
  nlohmann::json counts = nlohmann::json::object();
  for (const auto& [status, n] : p.count) counts[to_string(status)] = n;
  const std::vector<std::string> swept = swept_keys(sweep);
  nlohmann::json trials = nlohmann::json::array();
  for (const TrialData& t : sweep.trials) {
    const TrialParams params(t.row.spec);
    nlohmann::json point = nlohmann::json::object();
    for (const std::string& k : swept) point[k] = nlohmann::json::parse(params.text(k), nullptr, false);
    const auto r10 = best_r10(t);
    trials.push_back(
        {{"id", t.row.spec.id},
         {"point", point},
         {"seed", t.row.spec.seed},
         {"status", to_string(t.row.status)},
         {"epochs_done", t.row.epochs_done},
         {"epochs_planned", planned_epochs(t)},
         {"attempts", t.row.attempts},
         {"best_r10", r10 ? nlohmann::json(*r10) : nlohmann::json()},
         {"last_loss", t.epochs.empty() ? nlohmann::json() : nlohmann::json(t.epochs.back().loss_total)},
         {"error", t.row.error}});
  }
  const auto optional = [](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json();
  };
  const nlohmann::json status = {{"sweep", sweep.header.sweep},
                                 {"store", sweep.source},
                                 {"updated", sweep.header.updated},
                                 {"seconds_since_update", now - sweep.header.updated},
                                 {"in_progress", in_progress(sweep)},
                                 {"trials", sweep.trials.size()},
                                 {"counts", counts},
                                 {"epochs_done", p.done_epochs},
                                 {"epochs_planned", p.planned},
                                 {"seconds_per_epoch", optional(p.per_epoch())},
                                 {"eta_seconds", optional(p.eta())},
                                 {"parallel", p.parallel()},
                                 {"trial_list", trials}};
  return status.dump(2) + "\n";
}

}  // namespace cir::analysis
