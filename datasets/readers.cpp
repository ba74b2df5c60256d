#include "datasets/readers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_map>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/rng.hpp"

namespace cir::datasets {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kSubsets[] = {"dress", "shirt", "toptee"};

// The images a reader meets, numbered in order of first mention.
struct Draft {
  fs::path root;
  std::vector<std::string> paths;  // relative to root
  std::unordered_map<std::string, std::int64_t> number;
  std::vector<Triplet> training;
  std::vector<EvalSplit> splits;
  Problems problems;

  std::int64_t image(const std::string& relative) {
    auto [it, added] = number.emplace(relative, static_cast<std::int64_t>(paths.size()));
    if (added) paths.push_back(relative);
    return it->second;
  }

  Scan done(std::string name, int image_size) {
    Scan scan;
    scan.missing.resize(paths.size());
    for (std::size_t i = 0; i < paths.size(); ++i) {
      if (!fs::is_regular_file(root / paths[i])) {
        scan.missing[i] = true;
        problems.add(ProblemKind::missing_image, (root / paths[i]).string(), 0, "no such file");
      }
    }
    scan.problems = std::move(problems);
    scan.dataset = std::make_shared<Dataset>(std::move(name), std::make_shared<FileImageSource>(root, paths),
                                             std::move(training), std::move(splits), image_size);
    return scan;
  }
};

std::string rel(const ReaderOptions& o, const fs::path& p) { return (o.root / p).string(); }

// The text of an index file, or nothing (and a problem) when it is absent.
std::optional<std::string> read_text(const ReaderOptions& o, const fs::path& relative, Problems& problems) {
  const fs::path path = o.root / relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problems.add(ProblemKind::missing_index, path.string(), 0,
                 fs::exists(path) ? "cannot read the index file" : "missing index file");
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<json> read_json(const ReaderOptions& o, const fs::path& relative, Problems& problems) {
  auto text = read_text(o, relative, problems);
  if (!text) return std::nullopt;
  try {
    return json::parse(*text);
  } catch (const json::parse_error& e) {
    const auto upto = std::min<std::size_t>(e.byte, text->size());
    const int line =
        1 + static_cast<int>(std::count(text->begin(), text->begin() + static_cast<long>(upto), '\n'));
    problems.add(valid_utf8(*text) ? ProblemKind::bad_entry : ProblemKind::bad_text, rel(o, relative), line,
                 fmt::format("not valid JSON: {}", e.what()));
    return std::nullopt;
  }
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// A caption checked for emptiness and UTF-8; nothing (and a problem) if bad.
std::optional<std::string> caption(const std::string& raw, const std::string& file, int line,
                                   const std::string& what, Problems& problems) {
  if (!valid_utf8(raw)) {
    problems.add(ProblemKind::bad_text, file, line, what + ": caption is not UTF-8 text");
    return std::nullopt;
  }
  std::string c = trim(raw);
  if (c.empty()) {
    problems.add(ProblemKind::bad_entry, file, line, what + ": empty caption");
    return std::nullopt;
  }
  return c;
}

std::optional<std::string> string_field(const json& entry, const char* key, const std::string& file, int line,
                                        const std::string& what, Problems& problems) {
  if (!entry.is_object() || !entry.contains(key) || !entry[key].is_string()) {
    problems.add(ProblemKind::bad_entry, file, line, fmt::format("{}: no string field \"{}\"", what, key));
    return std::nullopt;
  }
  return entry[key].get<std::string>();
}

// ---------------------------------------------------------------- FashionIQ

struct FiqImages {
  std::unordered_map<std::string, std::string> by_id;  // id -> images/<file>
  explicit FiqImages(const fs::path& root) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root / "images", ec)) {
      if (!e.is_regular_file()) continue;
      const auto ext = e.path().extension().string();
      if (ext == ".png" || ext == ".jpg" || ext == ".jpeg")
        by_id.emplace(e.path().stem().string(), "images/" + e.path().filename().string());
    }
  }
  // The file of an id; an id without a file gets images/<id>.png, reported missing.
  std::string path(const std::string& id) const {
    auto it = by_id.find(id);
    return it != by_id.end() ? it->second : "images/" + id + ".png";
  }
};

// One FashionIQ sample: reference id, target id, text.
struct FiqSample {
  std::string reference, target, text;
};

std::vector<FiqSample> fiq_official(const ReaderOptions& o, const std::string& subset,
                                    const std::string& split, Problems& problems) {
  std::vector<FiqSample> out;
  const fs::path file = fs::path("captions") / fmt::format("cap.{}.{}.json", subset, split);
  auto list = read_json(o, file, problems);
  if (!list) return out;
  if (!list->is_array()) {
    problems.add(ProblemKind::bad_entry, rel(o, file), 0, "expected a list of {candidate, target, captions}");
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
  const fs::path file = fs::path("captions_pairs") / fmt::format("fashion_iq-{}-cap-{}.txt", split, subset);
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

// ------------------------------------------------------------------- Shoes

std::vector<std::string> name_list(const ReaderOptions& o, const fs::path& file, Problems& problems) {
  std::vector<std::string> names;
  auto text = read_text(o, file, problems);
  if (!text) return names;
  if (!valid_utf8(*text)) problems.add(ProblemKind::bad_text, rel(o, file), 0, "not UTF-8 text");
  for (const auto& line : lines_of(*text))
    if (auto name = trim(line); !name.empty()) names.push_back(name);
  return names;
}

// ------------------------------------------------------------- Fashion200k

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

// Every image of labels/*_<split>_detect_all.txt, files in name order.
std::vector<LabelledImage> f200k_labels(const ReaderOptions& o, const std::string& split,
                                        Problems& problems) {
  std::vector<LabelledImage> out;
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(o.root / "labels", ec)) {
    const auto name = e.path().filename().string();
    const std::string suffix = "_" + split + "_detect_all.txt";
    if (name.size() > suffix.size() && name.ends_with(suffix)) files.push_back(fs::path("labels") / name);
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    problems.add(ProblemKind::missing_index,
                 rel(o, fs::path("labels") / ("<category>_" + split + "_detect_all.txt")), 0,
                 "missing index file: no label file for this split");
    return out;
  }
  for (const auto& file : files) {
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

// ------------------------------------------------------------------ public

const char* describe(ProblemKind kind) {
  switch (kind) {
    case ProblemKind::missing_index:
      return "missing index file";
    case ProblemKind::missing_image:
      return "missing image";
    case ProblemKind::bad_entry:
      return "bad entry";
    case ProblemKind::bad_text:
      return "text not UTF-8";
    case ProblemKind::bad_image:
      return "unreadable image";
  }
  return "problem";
}

void Problems::add(ProblemKind kind, std::string file, int line, std::string what) {
  problems_.push_back({kind, std::move(file), line, std::move(what)});
}

std::size_t Problems::count(ProblemKind kind) const {
  return static_cast<std::size_t>(
      std::count_if(problems_.begin(), problems_.end(), [kind](const Problem& p) { return p.kind == kind; }));
}

std::string Problems::summary(std::size_t listed) const {
  std::vector<std::string> counts;
  for (auto kind : {ProblemKind::missing_index, ProblemKind::missing_image, ProblemKind::bad_entry,
                    ProblemKind::bad_text, ProblemKind::bad_image})
    if (auto n = count(kind)) counts.push_back(fmt::format("{} × {}", n, describe(kind)));
  std::string out = fmt::format("{} problem{}: {}", problems_.size(), problems_.size() == 1 ? "" : "s",
                                fmt::join(counts, ", "));
  for (std::size_t i = 0; i < problems_.size() && i < listed; ++i) {
    const auto& p = problems_[i];
    out += fmt::format("\n  {}{}: {}: {}", p.file, p.line > 0 ? fmt::format(":{}", p.line) : "",
                       describe(p.kind), p.what);
  }
  if (problems_.size() > listed) out += fmt::format("\n  … and {} more", problems_.size() - listed);
  return out;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static constexpr std::uint32_t minimum[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < minimum[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

ReaderOptions ReaderOptions::from(const cir::Params& params) {
  ReaderOptions o;
  o.trial = params.trial();
  o.root = params.string("data.root");
  if (o.root.empty())
    throw Error("no dataset folder given", Where{.key = "data.root", .trial = o.trial},
                "set data.root to the folder you downloaded, or use data.dataset = \"synthetic\"");
  o.layout = params.string("data.layout");
  if (o.layout != "official" && o.layout != "derived")
    throw Error(fmt::format("unknown layout '{}'", o.layout), Where{.key = "data.layout", .trial = o.trial},
                "use \"official\" or \"derived\"");
  o.image_size = static_cast<int>(params.integer("data.image_size"));
  o.missing_images = params.string("data.missing_images", "error");
  if (o.missing_images != "error" && o.missing_images != "skip")
    throw Error(fmt::format("unknown value '{}'", o.missing_images),
                Where{.key = "data.missing_images", .trial = o.trial},
                "use \"error\" (stop with the list) or \"skip\" (drop what needs a missing image)");
  o.fashioniq_protocol = params.string("data.fashioniq.protocol", "val");
  if (o.fashioniq_protocol != "val" && o.fashioniq_protocol != "split")
    throw Error(fmt::format("unknown protocol '{}'", o.fashioniq_protocol),
                Where{.key = "data.fashioniq.protocol", .trial = o.trial}, "use \"val\" or \"split\"");
  o.queries_per_triplet = static_cast<int>(params.integer("data.fashioniq.queries_per_triplet", 2));
  if (o.queries_per_triplet != 1 && o.queries_per_triplet != 2)
    throw Error(fmt::format("{} is neither 1 nor 2", o.queries_per_triplet),
                Where{.key = "data.fashioniq.queries_per_triplet", .trial = o.trial});
  o.pairs_seed = static_cast<std::uint64_t>(params.integer("data.fashion200k.pairs_seed", 0));
  return o;
}

Scan scan_fashioniq(const ReaderOptions& o) {
  Draft d;
  d.root = o.root;
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
    if (o.fashioniq_protocol == "split") {
      const fs::path file = fs::path("image_splits") / fmt::format("split.{}.val.json", subset);
      if (auto ids = read_json(o, file, d.problems)) {
        if (!ids->is_array())
          d.problems.add(ProblemKind::bad_entry, rel(o, file), 0, "expected a list of image ids");
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
        d.problems.add(ProblemKind::bad_entry,
                       rel(o, fs::path("image_splits") / fmt::format("split.{}.val.json", subset)), 0,
                       fmt::format("target {} of a val triplet is not in the val image split", s.target));
        continue;
      }
      auto r = position.find(s.reference);
      split.queries.push_back(
          {d.image(images.path(s.reference)), s.text, {t->second}, r == position.end() ? -1 : r->second});
    }
    d.splits.push_back(std::move(split));
  }
  return d.done("fashioniq", o.image_size);
}

Scan scan_shoes(const ReaderOptions& o) {
  Draft d;
  d.root = o.root;
  // Every image under attributedata/, by file name.
  std::unordered_map<std::string, std::string> by_name;
  std::error_code ec;
  if (!fs::is_directory(o.root / "attributedata"))
    d.problems.add(ProblemKind::missing_index, rel(o, "attributedata"), 0, "missing image folder");
  for (auto it = fs::recursive_directory_iterator(o.root / "attributedata", ec); !ec && it != fs::end(it);
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
    return it != by_name.end() ? it->second : "attributedata/" + name;
  };
  const auto train_names = name_list(o, "train_im_names.txt", d.problems);
  const auto eval_names = name_list(o, "eval_im_names.txt", d.problems);
  const std::set<std::string> train_set(train_names.begin(), train_names.end());
  EvalSplit split;
  split.name = "test";
  std::unordered_map<std::string, std::int64_t> position;
  for (const auto& name : eval_names) {
    if (position.emplace(name, static_cast<std::int64_t>(split.gallery.size())).second)
      split.gallery.push_back(d.image(path_of(name)));
  }
  const fs::path file = "relative_captions_shoes.json";
  if (auto list = read_json(o, file, d.problems)) {
    if (!list->is_array())
      d.problems.add(ProblemKind::bad_entry, rel(o, file), 0,
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
      } else {
        d.problems.add(ProblemKind::bad_entry, rel(o, file), 0,
                       fmt::format("{}: target {} is in neither train_im_names.txt nor eval_im_names.txt",
                                   what, *target));
      }
    }
  }
  d.splits.push_back(std::move(split));
  return d.done("shoes", o.image_size);
}

Scan scan_fashion200k(const ReaderOptions& o) {
  Draft d;
  d.root = o.root;
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
  for (const auto& [key, members] : by_key)
    for (auto a : members)
      for (auto b : members)
        if (a != b) neighbours[a].push_back(b);
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
  const fs::path file = "test_queries.txt";
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
  return d.done("fashion200k", o.image_size);
}

Scan scan_dataset(const std::string& name, const ReaderOptions& options) {
  if (name == "fashioniq") return scan_fashioniq(options);
  if (name == "shoes") return scan_shoes(options);
  if (name == "fashion200k") return scan_fashion200k(options);
  throw Error(fmt::format("no reader for dataset '{}'", name), Where{.key = "data.dataset"},
              "use fashioniq, shoes or fashion200k");
}

std::shared_ptr<Dataset> ready_for_training(Scan scan, const ReaderOptions& o) {
  Dataset& ds = *scan.dataset;
  const bool skip = o.missing_images == "skip";
  Problems fatal;
  for (const auto& p : scan.problems.all())
    if (!(skip && p.kind == ProblemKind::missing_image)) fatal.add(p.kind, p.file, p.line, p.what);
  if (!fatal.empty()) {
    const bool missing = fatal.count(ProblemKind::missing_image) > 0;
    throw Error(
        fmt::format("the {} folder cannot be used: {}", ds.name(), fatal.summary(20)),
        Where{.file = o.root.string(), .trial = o.trial},
        fmt::format("`cir-data validate {} --dataset {}` lists every problem{}", o.root.string(), ds.name(),
                    missing ? "; data.missing_images = \"skip\" drops what needs a missing image (the "
                              "counts go into the results)"
                            : ""));
  }
  const auto& missing = scan.missing;
  Dropped dropped;
  dropped.images = std::count(missing.begin(), missing.end(), true);
  if (dropped.images == 0) return scan.dataset;
  std::vector<Triplet> training;
  for (const auto& t : ds.training()) {
    if (missing[t.reference] || missing[t.target]) {
      ++dropped.triplets;
    } else {
      training.push_back(t);
    }
  }
  std::vector<EvalSplit> splits;
  for (const auto& s : ds.splits()) {
    EvalSplit out;
    out.name = s.name;
    std::vector<std::int64_t> moved(s.gallery.size(), -1);
    for (std::size_t p = 0; p < s.gallery.size(); ++p) {
      if (missing[s.gallery[p]]) {
        ++dropped.gallery;
      } else {
        moved[p] = static_cast<std::int64_t>(out.gallery.size());
        out.gallery.push_back(s.gallery[p]);
      }
    }
    for (const auto& q : s.queries) {
      Query kept{q.reference, q.caption, {}, q.exclude >= 0 ? moved[q.exclude] : -1};
      for (auto m : q.true_matches)
        if (moved[m] >= 0) kept.true_matches.push_back(moved[m]);
      if (missing[q.reference] || kept.true_matches.empty()) {
        ++dropped.queries;
      } else {
        out.queries.push_back(std::move(kept));
      }
    }
    splits.push_back(std::move(out));
  }
  log::warn(
      "{}: {} missing images skipped (data.missing_images = \"skip\"): dropped {} training triplets, {} "
      "queries, {} gallery images; results are not on the full protocol",
      o.root.string(), dropped.images, dropped.triplets, dropped.queries, dropped.gallery);
  auto out = std::make_shared<Dataset>(ds.name(), ds.image_source(), std::move(training), std::move(splits),
                                       ds.image_size(), ds.mirroring());
  out->set_dropped(dropped);
  return out;
}

std::shared_ptr<Dataset> read_fashioniq(const ReaderOptions& options) {
  return ready_for_training(scan_fashioniq(options), options);
}
std::shared_ptr<Dataset> read_shoes(const ReaderOptions& options) {
  return ready_for_training(scan_shoes(options), options);
}
std::shared_ptr<Dataset> read_fashion200k(const ReaderOptions& options) {
  return ready_for_training(scan_fashion200k(options), options);
}

}  // namespace cir::datasets
