#include "datasets/readers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "common/keys.hpp"
#include "common/log.hpp"

namespace cir::datasets {

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
  o.root = params.get(keys::data::root);
  if (o.root.empty())
    throw Error("no dataset folder given", params.where(keys::data::root),
                "set data.root to the folder you downloaded, or use data.dataset = \"synthetic\"");
  o.layout = params.get(keys::data::layout);
  o.image_size = static_cast<int>(params.get(keys::data::image_size));
  o.missing_images = params.get(keys::data::missing_images);
  o.fashioniq_protocol = params.get(keys::data::fashioniq::protocol);
  o.queries_per_triplet = static_cast<int>(params.get(keys::data::fashioniq::queries_per_triplet));
  o.pairs_seed = static_cast<std::uint64_t>(params.get(keys::data::fashion200k::pairs_seed));
  return o;
}

Scan scan_dataset(const std::string& name, const ReaderOptions& options) {
  if (name == "fashioniq") return scan_fashioniq(options);
  if (name == "shoes") return scan_shoes(options);
  if (name == "fashion200k") return scan_fashion200k(options);
  throw Error(fmt::format("no reader for dataset '{}'", name), Where{.key = keys::data::dataset.name},
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
