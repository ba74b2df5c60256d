#include "datasets/readers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "common/log.hpp"

namespace cir::datasets {

Scan scan_dataset(const std::string& name, const ReaderOptions& options) {
  Listing listing = list_dataset(name, options);
  Scan scan;
  scan.problems = std::move(listing.problems);
  scan.missing = std::move(listing.missing);
  scan.dataset = std::make_shared<Dataset>(
      name, std::make_shared<FileImageSource>(listing.root, std::move(listing.paths)),
      std::move(listing.training), std::move(listing.splits), options.image_size);
  return scan;
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
        fmt::format("`{}` lists every problem{}{}", validate_command(ds.name(), o),
                    missing ? "; data.missing_images = \"skip\" drops what needs a missing image (the "
                              "counts go into the results)"
                            : "",
                    fatal.count(ProblemKind::bad_text) > 0
                        ? "; data.invalid_text = \"replace\" reads bytes that are not UTF-8 as U+FFFD"
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
  std::int64_t queries = 0, gallery = 0;  // dropped, over the splits
  for (const auto& s : ds.splits()) {
    EvalSplit out;
    out.name = s.name;
    std::vector<std::int64_t> moved(s.gallery.size(), -1);
    for (std::size_t p = 0; p < s.gallery.size(); ++p) {
      if (missing[s.gallery[p]]) {
        ++out.dropped_gallery;
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
        ++out.dropped_queries;
      } else {
        out.queries.push_back(std::move(kept));
      }
    }
    queries += out.dropped_queries;
    gallery += out.dropped_gallery;
    splits.push_back(std::move(out));
  }
  log::warn(
      "{}: {} missing images skipped (data.missing_images = \"skip\"): dropped {} training triplets, {} "
      "queries, {} gallery images; results are not on the full protocol",
      o.root.string(), dropped.images, dropped.triplets, queries, gallery);
  auto out = std::make_shared<Dataset>(ds.name(), ds.image_source(), std::move(training), std::move(splits),
                                       ds.image_size(), ds.mirroring());
  out->set_dropped(dropped);
  return out;
}

std::shared_ptr<Dataset> read_fashioniq(const ReaderOptions& options) {
  return ready_for_training(scan_dataset("fashioniq", options), options);
}
std::shared_ptr<Dataset> read_shoes(const ReaderOptions& options) {
  return ready_for_training(scan_dataset("shoes", options), options);
}
std::shared_ptr<Dataset> read_fashion200k(const ReaderOptions& options) {
  return ready_for_training(scan_dataset("fashion200k", options), options);
}

}  // namespace cir::datasets
