// A sweep as cir-report sees it: the store's header, trials and epochs in
// memory, the epoch of each trial that a table reports (--select), and the
// metrics computed from an epoch's Recall@K. Plain structs, so tables can be
// built from a store or directly in a test.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/trial.hpp"
#include "store/store.hpp"

namespace cir::analysis {

struct TrialData {
  store::TrialRow row{};
  std::vector<EpochRecord> epochs{};  // by epoch
};

struct SweepData {
  std::string source{};  // the store's path, for messages
  store::SweepHeader header;
  std::vector<TrialData> trials{};  // by TrialSpec::index
};

// Reads every trial and epoch of the store at `path` through store::Reader.
// Throws cir::Error: ExitCode::usage for a missing path, the store's own
// error (ExitCode::store_refused) for a file that is not a readable cir store.
SweepData load_sweep(const std::filesystem::path& path);

// Which epoch of a trial a table reports.
enum class Selection {
  best_r10,  // highest R@10 (mean over splits): the authors' rule
  best_avg,  // highest (R@10 + R@50) / 2 (means over splits)
  last,      // the last evaluated epoch
};
// Parses "best:r10", "best:avg", "last"; throws cir::Error otherwise.
Selection parse_selection(const std::string& text);
std::string to_string(Selection selection);

// The reported epoch among those with recalls; ties go to the earlier
// epoch. Nothing when no epoch was evaluated.
std::optional<EpochRecord> select_epoch(const std::vector<EpochRecord>& epochs, Selection selection);

// A number computed from one epoch's recalls.
struct Metric {
  enum class Kind {
    recall,        // R@k of `split`, or the mean over splits when split is ""
    average_10_50  // (R@10 + R@50) / 2, each the mean over splits
  } kind = Kind::recall;
  std::string split{};
  int k = 0;

  // From a paper column name: "r10", "dress_r10", "average", "average_r10".
  static Metric from_column(const std::string& column);
};
std::optional<double> metric_value(const EpochRecord& epoch, const Metric& metric);

// Mean and sample standard deviation (n − 1) over seeds; n = 0: no value.
struct Stat {
  double mean = 0.0, std = 0.0;
  int n = 0;
};
Stat aggregate(const std::vector<double>& values);

// A trial's resolved parameters, read for grouping and matching.
class TrialParams {
 public:
  explicit TrialParams(const TrialSpec& spec);
  // The JSON text of a key's value ("0.5", "\"inf\"", "\"lstm\""); "" if absent.
  std::string text(const std::string& key) const;
  // A number key's value (the strings "inf", "-inf" and "nan" read as
  // doubles); `fallback` when absent or not a number.
  double number(const std::string& key, double fallback) const;
  // A string key's value, or `fallback`.
  std::string string(const std::string& key, const std::string& fallback) const;

 private:
  struct Value {
    std::string text;                // as JSON
    std::optional<double> number{};  // numbers and "inf", "-inf", "nan"
    std::optional<std::string> string{};
  };
  std::map<std::string, Value, std::less<>> values_{};
};

// The swept keys of a sweep: the union of its trials' swept keys, in order
// of first appearance.
std::vector<std::string> swept_keys(const SweepData& sweep);

// How a swept value is shown: shortest round-trip numbers ("0.1", "1",
// "inf"), strings without quotes, anything else as JSON.
std::string display_value(const std::string& json_text);

}  // namespace cir::analysis
