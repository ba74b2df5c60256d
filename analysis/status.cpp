#include "analysis/status.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>

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

std::string render_status(const SweepData& sweep, double now) {
  std::map<TrialStatus, int> count;
  std::int64_t done_epochs = 0, planned = 0, remaining = 0;
  double seconds = 0.0;
  std::int64_t timed = 0;
  for (const TrialData& t : sweep.trials) {
    ++count[t.row.status];
    const std::int64_t p = planned_epochs(t);
    done_epochs += t.row.epochs_done;
    if (t.row.status == TrialStatus::pending || t.row.status == TrialStatus::running) {
      planned += p;
      remaining += std::max<std::int64_t>(0, p - t.row.epochs_done);
    } else {
      planned += t.row.epochs_done;
    }
    for (const EpochRecord& e : t.epochs) {
      seconds += e.train_seconds + e.eval_seconds;
      ++timed;
    }
  }
  std::string out = fmt::format("Sweep {} ({}), updated {} ({} ago)\n\n", sweep.header.sweep, sweep.source,
                                utc(sweep.header.updated), duration(now - sweep.header.updated));
  out += fmt::format("Trials: {} · done {} · running {} · pending {} · failed {} · diverged {}\n",
                     sweep.trials.size(), count[TrialStatus::done], count[TrialStatus::running],
                     count[TrialStatus::pending], count[TrialStatus::failed], count[TrialStatus::diverged]);
  const double percent =
      planned > 0 ? 100.0 * static_cast<double>(done_epochs) / static_cast<double>(planned) : 100.0;
  out += fmt::format("Epochs: {} of {} ({:.0f}%)", done_epochs, planned, percent);
  if (remaining == 0) {
    out += " · finished\n";
  } else if (timed == 0) {
    out += " · ETA unknown until the first epoch is committed\n";
  } else {
    const double per_epoch = seconds / static_cast<double>(timed);
    const int parallel = std::max(1, count[TrialStatus::running]);
    out += fmt::format(" · {:.1f} s per epoch · ETA {} with {} trial{} at a time\n", per_epoch,
                       duration(per_epoch * static_cast<double>(remaining) / parallel), parallel,
                       parallel == 1 ? "" : "s");
  }
  const std::vector<std::string> swept = swept_keys(sweep);
  const bool all = sweep.trials.size() <= 30;
  std::string rows;
  for (const TrialData& t : sweep.trials) {
    const TrialStatus s = t.row.status;
    if (!all && (s == TrialStatus::done || s == TrialStatus::pending)) continue;
    const auto best = select_epoch(t.epochs, Selection::best_r10);
    const auto r10 = best ? metric_value(*best, Metric{.k = 10}) : std::nullopt;
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

}  // namespace cir::analysis
