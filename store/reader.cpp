#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <unordered_map>

#include "common/error.hpp"
#include "store/snapshot.hpp"
#include "store/store.hpp"

namespace cir::store {

struct Reader::Impl {
  std::string path;
  Snapshot snapshot;
  // By trial, by attempt, by epoch.
  std::unordered_map<std::string, std::map<std::int32_t, std::vector<EpochRecord>>> epochs;

  const std::vector<EpochRecord>& rows_of(const std::string& id, std::optional<std::int32_t> attempt) const {
    static const std::vector<EpochRecord> none;
    const auto trial = std::find_if(snapshot.trials.begin(), snapshot.trials.end(),
                                    [&](const TrialRow& row) { return row.spec.id == id; });
    if (trial == snapshot.trials.end()) {
      throw Error("the store has no trial with this id", Where{.file = path, .trial = id},
                  "list the trials with Reader::trials() (cir-report lists them too)");
    }
    auto it = epochs.find(id);
    if (it == epochs.end()) return none;
    auto rows = it->second.find(attempt.value_or(trial->retries));
    return rows == it->second.end() ? none : rows->second;
  }
};

namespace {

// The value of one epoch under a rule; nullopt when the epoch lacks it.
std::optional<double> mean_recall(const EpochRecord& record, std::int32_t k) {
  double sum = 0.0;
  int n = 0;
  for (const RecallValue& recall : record.recalls) {
    if (recall.k == k) {
      sum += recall.value;
      ++n;
    }
  }
  if (n == 0) return std::nullopt;
  return sum / n;
}

std::optional<std::int32_t> recall_rule(const std::string& rule) {
  if (rule.size() < 2 || rule[0] != 'r' || rule.size() > 7) return std::nullopt;
  if (!std::all_of(rule.begin() + 1, rule.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::nullopt;
  }
  const int k = std::stoi(rule.substr(1));
  if (k <= 0) return std::nullopt;
  return k;
}

}  // namespace

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;
Reader::~Reader() = default;

Reader Reader::open(const std::filesystem::path& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path.string();
  impl->snapshot = read_store(impl->path);
  // Where each epoch of each attempt of a trial lies in `epochs`, for its
  // recalls.
  std::unordered_map<std::string, std::map<std::pair<std::int32_t, std::int32_t>, std::size_t>> position;
  for (const EpochRow& row : impl->snapshot.epochs.rows) {
    EpochRecord record = epoch_record(row);
    const std::int32_t attempt = row_attempt(row);
    std::vector<EpochRecord>& list = impl->epochs[record.trial_id][attempt];
    position[record.trial_id][{attempt, record.epoch}] = list.size();
    list.push_back(std::move(record));
  }
  for (const RecallRow& row : impl->snapshot.recalls.rows) {
    const std::string id = fixed_field(row.trial, kIdWidth);
    auto trial = position.find(id);
    if (trial == position.end()) continue;
    auto at = trial->second.find({row.attempt, row.epoch});
    if (at == trial->second.end()) continue;
    impl->epochs[id][row.attempt][at->second].recalls.push_back(recall_value(row));
  }
  for (auto& [id, attempts] : impl->epochs) {
    for (auto& [attempt, list] : attempts) {
      std::stable_sort(list.begin(), list.end(),
                       [](const EpochRecord& a, const EpochRecord& b) { return a.epoch < b.epoch; });
    }
  }
  return Reader(std::move(impl));
}

const SweepHeader& Reader::header() const { return impl_->snapshot.header; }

const std::vector<TrialRow>& Reader::trials() const { return impl_->snapshot.trials; }

std::vector<EpochRecord> Reader::epochs(const std::string& trial_id,
                                        std::optional<std::int32_t> attempt) const {
  return impl_->rows_of(trial_id, attempt);
}

std::optional<EpochRecord> Reader::select_epoch(const std::string& trial_id, const std::string& rule) const {
  std::function<std::optional<double>(const EpochRecord&)> score;
  if (rule == "last") {
    score = [](const EpochRecord& record) { return static_cast<double>(record.epoch); };
  } else if (rule == "avg") {
    score = [](const EpochRecord& record) -> std::optional<double> {
      const auto r10 = mean_recall(record, 10);
      const auto r50 = mean_recall(record, 50);
      if (!r10 || !r50) return std::nullopt;
      return (*r10 + *r50) / 2.0;
    };
  } else if (const auto k = recall_rule(rule)) {
    score = [k = *k](const EpochRecord& record) { return mean_recall(record, k); };
  } else {
    throw Error(fmt::format("unknown epoch rule '{}'", rule), Where{.file = impl_->path},
                "use 'last', 'avg' (mean of R@10 and R@50) or 'r<K>' (mean R@K over splits: r1, "
                "r10, r50)");
  }
  const std::vector<EpochRecord>& rows = impl_->rows_of(trial_id, std::nullopt);
  const EpochRecord* best = nullptr;
  double best_score = 0.0;
  for (const EpochRecord& record : rows) {
    const std::optional<double> value = score(record);
    if (value && (best == nullptr || *value > best_score)) {
      best = &record;
      best_score = *value;
    }
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

ResumeView Reader::resume_view() const {
  ResumeView view;
  for (const TrialRow& row : impl_->snapshot.trials) {
    if (row.status == TrialStatus::done || row.status == TrialStatus::failed ||
        row.status == TrialStatus::diverged) {
      view.done.push_back(row.spec.id);
    } else {
      view.continue_from[row.spec.id] = row.epochs_done;
    }
  }
  return view;
}

}  // namespace cir::store
