// Shoes (datasets/listing.hpp).
#include <fmt/format.h>

#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "datasets/reader_common.hpp"

namespace cir::datasets {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The release's files, relative to its folder.
const fs::path kImages = "attributedata";
const fs::path kTrainNames = "train_im_names.txt";
const fs::path kEvalNames = "eval_im_names.txt";
const fs::path kCaptions = "relative_captions_shoes.json";

// The names of a list file; nothing when it cannot be read.
std::optional<std::vector<std::string>> name_list(const ReaderOptions& o, const fs::path& file,
                                                  Problems& problems) {
  auto text = read_text(o, file, problems);
  if (!text) return std::nullopt;
  std::vector<std::string> names;
  for (const auto& line : lines_of(*text))
    if (auto name = trim(line); !name.empty()) names.push_back(name);
  return names;
}

}  // namespace

Problems check_shoes_files(const ReaderOptions& o) {
  Problems problems;
  if (root_missing(o, problems)) return problems;
  need_folder(o, kImages, problems);
  for (const fs::path& file : {kTrainNames, kEvalNames, kCaptions}) need_file(o, file, problems);
  return problems;
}

Listing list_shoes(const ReaderOptions& o) {
  Draft d;
  d.root = o.root;
  if (root_missing(o, d.problems)) return d.done();
  // Every image under attributedata/, by file name.
  std::unordered_map<std::string, std::string> by_name;
  std::error_code ec;
  need_folder(o, kImages, d.problems);
  for (auto it = fs::recursive_directory_iterator(o.root / kImages, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const auto name = it->path().filename().string();
    const auto relative = fs::relative(it->path(), o.root).string();
    auto [pos, added] = by_name.emplace(name, relative);
    if (!added)
      d.problems.add(ProblemKind::bad_entry, rel(o, relative), 0,
                     fmt::format("image name {} is also {}: names must be unique", name, pos->second));
  }
  auto path_of = [&](const std::string& name) {
    auto it = by_name.find(name);
    return it != by_name.end() ? it->second : (kImages / name).string();
  };
  const auto train_names = name_list(o, kTrainNames, d.problems);
  const auto eval_names = name_list(o, kEvalNames, d.problems);
  std::set<std::string> train_set;
  if (train_names) train_set.insert(train_names->begin(), train_names->end());
  EvalSplit split;
  split.name = "test";
  std::unordered_map<std::string, std::int64_t> position;
  for (const auto& name : eval_names.value_or(std::vector<std::string>{})) {
    if (position.emplace(name, static_cast<std::int64_t>(split.gallery.size())).second)
      split.gallery.push_back(d.image(path_of(name)));
  }
  const fs::path& file = kCaptions;
  if (auto list = read_json(o, file, d.problems)) {
    if (!list->is_array())
      d.problems.add(ProblemKind::unreadable_index, rel(o, file), 0,
                     "expected a list of {ImageName, ReferenceImageName, RelativeCaption}");
    for (std::size_t i = 0; list->is_array() && i < list->size(); ++i) {
      const json& e = (*list)[i];
      const std::string what = fmt::format("entry {}", i);
      auto target = string_field(e, "ImageName", rel(o, file), 0, what, d.problems);
      auto ref = string_field(e, "ReferenceImageName", rel(o, file), 0, what, d.problems);
      auto raw = string_field(e, "RelativeCaption", rel(o, file), 0, what, d.problems);
      if (!target || !ref || !raw) continue;
      auto text =
          caption(*raw, rel(o, file), 0, fmt::format("{} ({} → {})", what, *ref, *target), d.problems);
      if (!text) continue;
      if (train_set.count(*target)) {
        d.training.push_back({d.image(path_of(*ref)), d.image(path_of(*target)), *text});
      } else if (auto t = position.find(*target); t != position.end()) {
        auto r = position.find(*ref);
        split.queries.push_back(
            {d.image(path_of(*ref)), *text, {t->second}, r == position.end() ? -1 : r->second});
      } else if (train_names && eval_names) {  // else the unreadable list is the problem
        d.problems.add(ProblemKind::bad_entry, rel(o, file), 0,
                       fmt::format("{}: target {} is in neither train_im_names.txt nor eval_im_names.txt",
                                   what, *target));
      }
    }
  }
  d.splits.push_back(std::move(split));
  return d.done();
}

}  // namespace cir::datasets
