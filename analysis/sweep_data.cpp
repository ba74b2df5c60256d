#include "analysis/sweep_data.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace cir::analysis {

Selection parse_selection(const std::string& text) {
  if (text == "best:r10") return Selection::best_r10;
  if (text == "best:avg") return Selection::best_avg;
  if (text == "last") return Selection::last;
  throw Error(fmt::format("unknown epoch selection '{}'", text), Where{.key = "--select"},
              "use best:r10 (the authors' rule), best:avg or last");
}

std::string to_string(Selection selection) {
  switch (selection) {
    case Selection::best_r10:
      return "best:r10";
    case Selection::best_avg:
      return "best:avg";
    case Selection::last:
      return "last";
  }
  return "?";
}

std::optional<EpochRecord> select_epoch(const std::vector<EpochRecord>& epochs, Selection selection) {
  const Metric r10{.kind = Metric::Kind::recall, .k = 10};
  const Metric avg{.kind = Metric::Kind::average_10_50};
  const EpochRecord* chosen = nullptr;
  double best = -std::numeric_limits<double>::infinity();
  for (const EpochRecord& e : epochs) {
    if (e.recalls.empty()) continue;
    if (selection == Selection::last) {
      if (chosen == nullptr || e.epoch > chosen->epoch) chosen = &e;
      continue;
    }
    const std::optional<double> v = metric_value(e, selection == Selection::best_r10 ? r10 : avg);
    if (v && (chosen == nullptr || *v > best)) {
      chosen = &e;
      best = *v;
    }
  }
  if (chosen == nullptr) return std::nullopt;
  return *chosen;
}

Metric Metric::from_column(const std::string& column) {
  if (column == "average") return Metric{.kind = Kind::average_10_50};
  const std::size_t r = column.rfind('r');
  int k = 0;
  if (r != std::string::npos && r + 1 < column.size() &&
      std::all_of(column.begin() + static_cast<long>(r) + 1, column.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    k = std::stoi(column.substr(r + 1));
  }
  const std::string prefix = r == std::string::npos ? column : column.substr(0, r);
  if (k <= 0 || !(prefix.empty() || (prefix.size() > 1 && prefix.back() == '_'))) {
    throw Error(fmt::format("unknown paper column '{}'", column), {},
                "columns are rK, <split>_rK, average or average_rK");
  }
  std::string split = prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1);
  if (split == "average") split.clear();
  return Metric{.kind = Kind::recall, .split = split, .k = k};
}

std::optional<double> metric_value(const EpochRecord& epoch, const Metric& metric) {
  if (metric.kind == Metric::Kind::average_10_50) {
    const auto r10 = metric_value(epoch, Metric{.k = 10});
    const auto r50 = metric_value(epoch, Metric{.k = 50});
    if (!r10 || !r50) return std::nullopt;
    return (*r10 + *r50) / 2.0;
  }
  double sum = 0.0;
  int n = 0;
  for (const RecallValue& r : epoch.recalls) {
    if (r.k == metric.k && (metric.split.empty() || r.split == metric.split)) {
      sum += r.value;
      ++n;
    }
  }
  if (n == 0) return std::nullopt;
  return sum / n;
}

Stat aggregate(const std::vector<double>& values) {
  Stat s;
  s.n = static_cast<int>(values.size());
  if (s.n == 0) return s;
  for (double v : values) s.mean += v;
  s.mean /= s.n;
  if (s.n > 1) {
    double ss = 0.0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(ss / (s.n - 1));
  }
  return s;
}

TrialParams::TrialParams(const TrialSpec& spec) {
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(spec.params_json);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("the trial's parameters are not valid JSON: ") + e.what(),
                Where{.trial = spec.id});
  }
  if (!object.is_object())
    throw Error("the trial's parameters are not a JSON object", Where{.trial = spec.id});
  for (const auto& [key, value] : object.items()) {
    Value v{.text = value.dump()};
    if (value.is_number()) v.number = value.get<double>();
    if (value.is_string()) {
      v.string = value.get<std::string>();
      if (*v.string == "inf") v.number = std::numeric_limits<double>::infinity();
      if (*v.string == "-inf") v.number = -std::numeric_limits<double>::infinity();
      if (*v.string == "nan") v.number = std::numeric_limits<double>::quiet_NaN();
    }
    values_.emplace(key, std::move(v));
  }
}

std::string TrialParams::text(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? std::string() : it->second.text;
}

double TrialParams::number(const std::string& key, double fallback) const {
  auto it = values_.find(key);
  return it == values_.end() || !it->second.number ? fallback : *it->second.number;
}

std::string TrialParams::string(const std::string& key, const std::string& fallback) const {
  auto it = values_.find(key);
  return it == values_.end() || !it->second.string ? fallback : *it->second.string;
}

std::vector<std::string> swept_keys(const SweepData& sweep) {
  std::vector<std::string> keys;
  for (const TrialData& t : sweep.trials) {
    for (const std::string& k : t.row.spec.swept_keys) {
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    }
  }
  return keys;
}

std::string display_value(const std::string& json_text) {
  if (json_text.empty()) return "";
  const nlohmann::json v = nlohmann::json::parse(json_text, nullptr, false);
  if (v.is_discarded()) return json_text;
  if (v.is_number_integer()) return fmt::format("{}", v.get<std::int64_t>());
  if (v.is_number()) return fmt::format("{}", v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

}  // namespace cir::analysis
