#include "launcher/preflight.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include "common/keys.hpp"
#include "store/store.hpp"

namespace cir::launcher {

namespace {

namespace fs = std::filesystem;

// Why files cannot be created in `folder` (created on the way when missing),
// or nothing when they can: the nearest folder on its path that exists must
// be a folder this process may write.
std::optional<std::string> unwritable(const fs::path& folder) {
  fs::path existing = folder;
  std::error_code ec;
  while (!existing.empty() && !fs::exists(existing, ec)) existing = existing.parent_path();
  if (existing.empty()) existing = ".";
  if (!fs::is_directory(existing, ec)) return fmt::format("{} is not a folder", existing.string());
  if (::access(existing.c_str(), W_OK | X_OK) != 0)
    return fmt::format("{} cannot be written ({})", existing.string(), std::strerror(errno));
  return std::nullopt;
}

// Where the spec sets `key`: the grid axis that sweeps it, else the line
// that sets it, else the spec itself (the key has its default).
Where where_set(const SweepSpec& spec, const std::string& key) {
  for (const Product& product : spec.products)
    for (const Axis& axis : product)
      if (axis.key == key) return axis.where;
  if (auto it = spec.settings.find(key); it != spec.settings.end() && !it->second.where.file.empty())
    return it->second.where;
  return Where{.file = spec.file.string(), .key = key};
}

// "all 8 trials read it", "trials 0, 3 and 5 of 8 read it".
std::string readers(const std::vector<std::int64_t>& trials, std::size_t total) {
  if (trials.size() == total)
    return total == 1 ? "the sweep's trial reads it" : fmt::format("all {} trials read it", total);
  constexpr std::size_t kShown = 6;
  std::vector<std::string> shown;
  for (std::size_t i = 0; i < trials.size() && i < kShown; ++i) shown.push_back(std::to_string(trials[i]));
  std::string list;
  if (trials.size() > kShown) {
    list = fmt::format("{}, …", fmt::join(shown, ", "));
  } else if (shown.size() > 1) {
    const std::string last = shown.back();
    shown.pop_back();
    list = fmt::format("{} and {}", fmt::join(shown, ", "), last);
  } else {
    list = shown.front();
  }
  return fmt::format("trial{} {} of {} read{} it", trials.size() == 1 ? "" : "s", list, total,
                     trials.size() == 1 ? "s" : "");
}

// `text` with `suffix` at the end of its first line (a message may go on
// with a list).
std::string after_first_line(std::string text, const std::string& suffix) {
  text.insert(std::min(text.find('\n'), text.size()), suffix);
  return text;
}

// The trials a run will start: those an existing store has not finished.
std::vector<TrialSpec> to_run(const SweepSpec& spec, const std::vector<TrialSpec>& trials) {
  std::error_code ec;
  if (!fs::exists(spec.store, ec)) return trials;
  std::set<std::string> finished;
  try {
    for (const std::string& id : store::Reader::open(spec.store).resume_view().done) finished.insert(id);
  } catch (const Error&) {
    return trials;  // the writer says what is wrong with the store
  }
  std::vector<TrialSpec> out;
  std::copy_if(trials.begin(), trials.end(), std::back_inserter(out),
               [&](const TrialSpec& t) { return finished.count(t.id) == 0; });
  return out;
}

}  // namespace

void preflight(const SweepSpec& spec, const Where& store_where, const std::vector<TrialSpec>& trials,
               const InputCheck& check) {
  std::vector<Error> problems;
  const fs::path checkpoints = checkpoint_root(spec);
  const std::string store_hint = "choose a folder you may write with --store PATH (or sweep.store)";
  if (const auto why = unwritable(spec.store.parent_path())) {
    problems.emplace_back(fmt::format("cannot create the store {}: {}", spec.store.string(), *why),
                          store_where, store_hint);
  } else if (const auto why = unwritable(checkpoints)) {
    problems.emplace_back(fmt::format("cannot create the checkpoints in {}: {}", checkpoints.string(), *why),
                          store_where, store_hint);
  }
  if (check) {
    const std::vector<TrialSpec> running = to_run(spec, trials);
    for (const InputProblem& p : check(running)) {
      const Error& e = p.error;
      problems.emplace_back(after_first_line(e.message(), " (" + readers(p.trials, running.size()) + ")"),
                            where_set(spec, e.where().key), e.hint());
    }
  }
  if (problems.empty()) return;
  if (problems.size() == 1) {
    const Error& e = problems.front();
    throw Error(after_first_line(e.message(), "; no trial was started"), e.where(), e.hint());
  }
  std::string list;
  for (const Error& e : problems) {
    std::string text = e.what();
    for (std::size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 3))
      text.replace(at, 1, "\n  ");
    list += "\n  " + text;
  }
  throw Error(
      fmt::format("{} problems with what the trials need; no trial was started:{}", problems.size(), list),
      Where{.file = spec.file.string()});
}

}  // namespace cir::launcher
