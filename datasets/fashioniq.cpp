// FashionIQ (datasets/listing.hpp): the official and the derived layout.
#include <fmt/format.h>

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "datasets/reader_common.hpp"

namespace cir::datasets {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kSubsets[] = {"dress", "shirt", "toptee"};

// The release's files, relative to its folder.
const fs::path kImages = "images";
fs::path captions_file(const ReaderOptions& o, const std::string& subset, const std::string& split) {
  return o.layout == "derived"
             ? fs::path("captions_pairs") / fmt::format("fashion_iq-{}-cap-{}.txt", split, subset)
             : fs::path("captions") / fmt::format("cap.{}.{}.json", subset, split);
}
fs::path val_split_file(const std::string& subset) {
  return fs::path("image_splits") / fmt::format("split.{}.val.json", subset);
}

struct FiqImages {
  std::unordered_map<std::string, std::string> by_id;  // id -> images/<file>
  std::string extension = ".png";                      // the one most images have
  explicit FiqImages(const fs::path& root) {
    std::error_code ec;
    std::map<std::string, std::int64_t> count;
    for (const auto& e : fs::directory_iterator(root / kImages, ec)) {
      if (!e.is_regular_file()) continue;
      const auto ext = e.path().extension().string();
      if (ext == ".png" || ext == ".jpg" || ext == ".jpeg") {
        by_id.emplace(e.path().stem().string(), (kImages / e.path().filename()).string());
        ++count[ext];
      }
    }
    std::int64_t most = 0;
    for (const auto& [ext, n] : count) {
      if (n > most) {
        extension = ext;
        most = n;
      }
    }
  }
  // The file of an id; an id without a file gets images/<id> with the
  // extension of the other images, reported missing.
  std::string path(const std::string& id) const {
    auto it = by_id.find(id);
    return it != by_id.end() ? it->second : (kImages / (id + extension)).string();
  }
};

// One FashionIQ sample: reference id, target id, text.
struct FiqSample {
  std::string reference, target, text;
};

std::vector<FiqSample> fiq_official(const ReaderOptions& o, const std::string& subset,
                                    const std::string& split, Problems& problems) {
  std::vector<FiqSample> out;
  const fs::path file = captions_file(o, subset, split);
  auto list = read_json(o, file, problems);
  if (!list) return out;
  if (!list->is_array()) {
    problems.add(ProblemKind::unreadable_index, rel(o, file), 0,
                 "expected a list of {candidate, target, captions}");
    return out;
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& e = (*list)[i];
    const std::string what = fmt::format("entry {}", i);
    auto cand = string_field(e, "candidate", rel(o, file), 0, what, problems);
    auto target = string_field(e, "target", rel(o, file), 0, what, problems);
    if (!cand || !target) continue;
    if (!e.contains("captions") || !e["captions"].is_array() || e["captions"].size() != 2 ||
        !e["captions"][0].is_string() || !e["captions"][1].is_string()) {
      problems.add(
          ProblemKind::bad_entry, rel(o, file), 0,
          fmt::format("{} ({} → {}): \"captions\" must be a list of two strings", what, *cand, *target));
      continue;
    }
    const std::string about = fmt::format("{} ({} → {})", what, *cand, *target);
    auto c1 = caption(e["captions"][0].get<std::string>(), rel(o, file), 0, about, problems);
    auto c2 = caption(e["captions"][1].get<std::string>(), rel(o, file), 0, about, problems);
    if (c1 && c2) out.push_back({*cand, *target, *c1 + " and " + *c2});
  }
  return out;
}

std::vector<FiqSample> fiq_derived(const ReaderOptions& o, const std::string& subset,
                                   const std::string& split, Problems& problems) {
  std::vector<FiqSample> out;
  const fs::path file = captions_file(o, subset, split);
  auto text = read_text(o, file, problems);
  if (!text) return out;
  struct Line {
    std::string ref, target;
    std::optional<std::string> cap;
    int number;
  };
  std::vector<Line> lines;
  const auto raw = lines_of(*text);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const int n = static_cast<int>(i) + 1;
    if (trim(raw[i]).empty()) continue;
    const auto a = raw[i].find(';');
    const auto b = a == std::string::npos ? a : raw[i].find(';', a + 1);
    if (b == std::string::npos) {
      problems.add(ProblemKind::bad_entry, rel(o, file), n, "expected \"reference;target;caption\"");
      continue;
    }
    lines.push_back({trim(raw[i].substr(0, a)), trim(raw[i].substr(a + 1, b - a - 1)),
                     caption(raw[i].substr(b + 1), rel(o, file), n, "line", problems), n});
  }
  for (std::size_t i = 0; i < lines.size(); i += 2) {
    if (i + 1 >= lines.size()) {
      problems.add(ProblemKind::bad_entry, rel(o, file), lines[i].number,
                   "a triplet's second caption line is missing (lines come in pairs)");
      break;
    }
    const Line &x = lines[i], &y = lines[i + 1];
    if (x.ref != y.ref || x.target != y.target) {
      problems.add(ProblemKind::bad_entry, rel(o, file), y.number,
                   fmt::format("line pairs must share reference and target: {};{} follows {};{}", y.ref,
                               y.target, x.ref, x.target));
      continue;
    }
    if (!x.cap || !y.cap) continue;
    out.push_back({x.ref, x.target, *x.cap + " and " + *y.cap});
    if (o.queries_per_triplet == 2) out.push_back({x.ref, x.target, *y.cap + " and " + *x.cap});
  }
  return out;
}

}  // namespace

Problems check_fashioniq_files(const ReaderOptions& o) {
  Problems problems;
  if (root_missing(o, problems)) return problems;
  need_folder(o, kImages, problems);
  for (const char* split : {"train", "val"})
    for (const char* subset : kSubsets) need_file(o, captions_file(o, subset, split), problems);
  if (o.fashioniq_protocol == "split")
    for (const char* subset : kSubsets) need_file(o, val_split_file(subset), problems);
  return problems;
}

Listing list_fashioniq(const ReaderOptions& o) {
  Draft d;
  d.root = o.root;
  if (root_missing(o, d.problems)) return d.done();
  need_folder(o, kImages, d.problems);
  const FiqImages images(o.root);
  const bool derived = o.layout == "derived";
  for (const char* subset : kSubsets) {
    const auto samples =
        derived ? fiq_derived(o, subset, "train", d.problems) : fiq_official(o, subset, "train", d.problems);
    for (const auto& s : samples)
      d.training.push_back({d.image(images.path(s.reference)), d.image(images.path(s.target)), s.text});
  }
  for (const char* subset : kSubsets) {
    const auto samples =
        derived ? fiq_derived(o, subset, "val", d.problems) : fiq_official(o, subset, "val", d.problems);
    EvalSplit split;
    split.name = subset;
    std::unordered_map<std::string, std::int64_t> position;  // id -> gallery position
    auto add = [&](const std::string& id) {
      auto [it, added] = position.emplace(id, static_cast<std::int64_t>(split.gallery.size()));
      if (added) split.gallery.push_back(d.image(images.path(id)));
      return it->second;
    };
    // Under the split protocol, whether the split file could be read: if
    // not, that is the problem, not each target it would have listed.
    bool listed = true;
    if (o.fashioniq_protocol == "split") {
      const fs::path file = val_split_file(subset);
      auto ids = read_json(o, file, d.problems);
      listed = ids && ids->is_array();
      if (ids) {
        if (!ids->is_array())
          d.problems.add(ProblemKind::unreadable_index, rel(o, file), 0, "expected a list of image ids");
        for (std::size_t i = 0; ids->is_array() && i < ids->size(); ++i) {
          if ((*ids)[i].is_string()) {
            add((*ids)[i].get<std::string>());
          } else {
            d.problems.add(ProblemKind::bad_entry, rel(o, file), 0,
                           fmt::format("entry {} is not an id string", i));
          }
        }
      }
    } else {
      for (const auto& s : samples) {
        add(s.reference);
        add(s.target);
      }
    }
    for (const auto& s : samples) {
      auto t = position.find(s.target);
      if (t == position.end()) {
        if (listed)
          d.problems.add(ProblemKind::bad_entry, rel(o, val_split_file(subset)), 0,
                         fmt::format("target {} of a val triplet is not in the val image split", s.target));
        continue;
      }
      auto r = position.find(s.reference);
      split.queries.push_back(
          {d.image(images.path(s.reference)), s.text, {t->second}, r == position.end() ? -1 : r->second});
    }
    d.splits.push_back(std::move(split));
  }
  return d.done();
}

}  // namespace cir::datasets
