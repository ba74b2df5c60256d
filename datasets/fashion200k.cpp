// Fashion200k (datasets/listing.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/rng.hpp"
#include "datasets/reader_common.hpp"

namespace cir::datasets {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// "replace a with b" for captions that differ by one word, else nothing.
std::optional<std::string> one_word_change(const std::string& from, const std::string& to) {
  const auto a = words(from), b = words(to);
  if (a.size() == b.size()) {
    int differ = -1;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i] == b[i]) continue;
      if (differ >= 0) return std::nullopt;
      differ = static_cast<int>(i);
    }
    if (differ >= 0) return fmt::format("replace {} with {}", a[differ], b[differ]);
    return std::nullopt;
  }
  // Different lengths: the word sets must differ by exactly one word each way.
  const std::set<std::string> sa(a.begin(), a.end()), sb(b.begin(), b.end());
  std::vector<std::string> only_a, only_b;
  std::set_difference(sa.begin(), sa.end(), sb.begin(), sb.end(), std::back_inserter(only_a));
  std::set_difference(sb.begin(), sb.end(), sa.begin(), sa.end(), std::back_inserter(only_b));
  if (only_a.size() == 1 && only_b.size() == 1)
    return fmt::format("replace {} with {}", only_a[0], only_b[0]);
  return std::nullopt;
}

struct LabelledImage {
  std::string path, caption;
};

// The release's files, relative to its folder.
const fs::path kLabels = "labels";
const fs::path kTestQueries = "test_queries.txt";

// The label files of a split (labels/<category>_<split>_detect_all.txt), in
// name order; a problem when there is none.
std::vector<fs::path> label_files(const ReaderOptions& o, const std::string& split, Problems& problems) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(o.root / kLabels, ec)) {
    const auto name = e.path().filename().string();
    const std::string suffix = "_" + split + "_detect_all.txt";
    if (name.size() > suffix.size() && name.ends_with(suffix)) files.push_back(kLabels / name);
  }
  std::sort(files.begin(), files.end());
  if (files.empty())
    problems.add(ProblemKind::missing_index, rel(o, kLabels / ("<category>_" + split + "_detect_all.txt")), 0,
                 "no label file of the " + split + " split");
  return files;
}

// Every image of labels/*_<split>_detect_all.txt, files in name order.
std::vector<LabelledImage> f200k_labels(const ReaderOptions& o, const std::string& split,
                                        Problems& problems) {
  std::vector<LabelledImage> out;
  for (const auto& file : label_files(o, split, problems)) {
    auto text = read_text(o, file, problems);
    if (!text) continue;
    const auto lines = lines_of(*text);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const int n = static_cast<int>(i) + 1;
      if (trim(lines[i]).empty()) continue;
      const auto a = lines[i].find('\t');
      const auto b = a == std::string::npos ? a : lines[i].find('\t', a + 1);
      if (b == std::string::npos) {
        problems.add(ProblemKind::bad_entry, rel(o, file), n, "expected \"path<TAB>score<TAB>caption\"");
        continue;
      }
      auto c = caption(lines[i].substr(b + 1), rel(o, file), n, "line", problems);
      if (c) out.push_back({trim(lines[i].substr(0, a)), *c});
    }
  }
  return out;
}

}  // namespace

Problems check_fashion200k_files(const ReaderOptions& o) {
  Problems problems;
  if (root_missing(o, problems)) return problems;
  std::error_code ec;
  if (fs::is_directory(o.root / kLabels, ec)) {
    for (const char* split : {"train", "test"})
      for (const fs::path& file : label_files(o, split, problems)) need_file(o, file, problems);
  } else {
    need_folder(o, kLabels, problems);
  }
  need_file(o, kTestQueries, problems);
  return problems;
}

Listing list_fashion200k(const ReaderOptions& o) {
  Draft d;
  d.root = o.root;
  if (root_missing(o, d.problems)) return d.done();
  // Training: one pair per image that has a one-word-different partner.
  const auto train = f200k_labels(o, "train", d.problems);
  std::unordered_map<std::string, std::vector<std::int64_t>> by_caption;  // caption -> train rows
  std::vector<std::string> captions;                                      // distinct, in first-seen order
  for (std::size_t i = 0; i < train.size(); ++i) {
    auto& rows = by_caption[train[i].caption];
    if (rows.empty()) captions.push_back(train[i].caption);
    rows.push_back(static_cast<std::int64_t>(i));
  }
  // Captions that share all words but one (same length) meet under a key
  // with that word blanked out.
  std::unordered_map<std::string, std::vector<std::size_t>> by_key;
  std::vector<std::vector<std::size_t>> neighbours(captions.size());
  std::unordered_map<std::string, std::size_t> caption_index;
  for (std::size_t c = 0; c < captions.size(); ++c) {
    caption_index[captions[c]] = c;
    const auto w = words(captions[c]);
    for (std::size_t k = 0; k < w.size(); ++k) {
      std::string key = std::to_string(k);
      for (std::size_t j = 0; j < w.size(); ++j) key += "\x1f" + (j == k ? std::string() : w[j]);
      by_key[key].push_back(c);
    }
  }
  // Captions with the same words and other white space meet too, and are
  // no one-word change.
  for (const auto& [key, members] : by_key)
    for (auto a : members)
      for (auto b : members)
        if (a != b && one_word_change(captions[a], captions[b])) neighbours[a].push_back(b);
  for (auto& n : neighbours) {
    std::sort(n.begin(), n.end());
    n.erase(std::unique(n.begin(), n.end()), n.end());
  }
  for (std::size_t i = 0; i < train.size(); ++i) {
    const auto& n = neighbours[caption_index[train[i].caption]];
    if (n.empty()) continue;
    CounterRng rng(o.pairs_seed, purpose::training_pairs, 0, static_cast<std::uint32_t>(i));
    const auto& partner_caption = captions[n[rng.next_below(n.size())]];
    const auto& rows = by_caption[partner_caption];
    const auto j = rows[rng.next_below(rows.size())];
    d.training.push_back({d.image(train[i].path), d.image(train[j].path),
                          *one_word_change(train[i].caption, partner_caption)});
  }
  // Test: every test image is in the gallery.
  const auto test = f200k_labels(o, "test", d.problems);
  EvalSplit split;
  split.name = "test";
  std::unordered_map<std::string, std::int64_t> position;
  std::unordered_map<std::string, std::vector<std::int64_t>> with_caption;
  for (const auto& t : test) {
    auto [it, added] = position.emplace(t.path, static_cast<std::int64_t>(split.gallery.size()));
    if (!added) continue;
    with_caption[t.caption].push_back(it->second);
    split.gallery.push_back(d.image(t.path));
  }
  std::unordered_map<std::string, std::string> caption_of;
  for (const auto& t : test) caption_of.emplace(t.path, t.caption);
  const fs::path& file = kTestQueries;
  if (auto text = read_text(o, file, d.problems)) {
    const auto lines = lines_of(*text);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const int n = static_cast<int>(i) + 1;
      const auto parts = words(lines[i]);
      if (parts.empty()) continue;
      if (parts.size() != 2) {
        d.problems.add(ProblemKind::bad_entry, rel(o, file), n, "expected \"source_path target_path\"");
        continue;
      }
      auto s = position.find(parts[0]);
      auto t = position.find(parts[1]);
      if (s == position.end() || t == position.end()) {
        d.problems.add(ProblemKind::bad_entry, rel(o, file), n,
                       fmt::format("{} is not an image of the test label files",
                                   s == position.end() ? parts[0] : parts[1]));
        continue;
      }
      const auto change = one_word_change(caption_of[parts[0]], caption_of[parts[1]]);
      if (!change) {
        d.problems.add(ProblemKind::bad_entry, rel(o, file), n,
                       fmt::format("captions \"{}\" and \"{}\" do not differ by one word",
                                   caption_of[parts[0]], caption_of[parts[1]]));
        continue;
      }
      split.queries.push_back(
          {split.gallery[s->second], *change, with_caption[caption_of[parts[1]]], s->second});
    }
  }
  d.splits.push_back(std::move(split));
  return d.done();
}

}  // namespace cir::datasets
