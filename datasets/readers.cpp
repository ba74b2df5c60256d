#include "datasets/readers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/checked_cast.hpp"
#include "common/error.hpp"
#include "common/keys.hpp"
#include "common/log.hpp"
#include "datasets/reader_common.hpp"

namespace cir::datasets {

const char* describe(ProblemKind kind) {
  switch (kind) {
    case ProblemKind::missing_folder:
      return "missing folder";
    case ProblemKind::missing_index:
      return "missing index file";
    case ProblemKind::unreadable_index:
      return "unreadable index file";
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
  Problem problem{kind, std::move(file), line, std::move(what)};
  if (seen_.insert(problem).second) problems_.push_back(std::move(problem));
}

std::size_t Problems::count(ProblemKind kind) const {
  return static_cast<std::size_t>(
      std::count_if(problems_.begin(), problems_.end(), [kind](const Problem& p) { return p.kind == kind; }));
}

std::string Problems::summary(std::size_t listed) const {
  std::vector<std::string> counts;
  for (auto kind :
       {ProblemKind::missing_folder, ProblemKind::missing_index, ProblemKind::unreadable_index,
        ProblemKind::missing_image, ProblemKind::bad_entry, ProblemKind::bad_text, ProblemKind::bad_image})
    if (auto n = count(kind)) counts.push_back(fmt::format("{} × {}", n, describe(kind)));
  std::string out = fmt::format("{} problem{}: {}", problems_.size(), problems_.size() == 1 ? "" : "s",
                                fmt::join(counts, ", "));
  for (std::size_t i = 0; i < problems_.size() && i < listed; ++i) {
    const auto& p = problems_[i];
    out += fmt::format("\n  {}{}: {}{}", p.file, p.line > 0 ? fmt::format(":{}", p.line) : "",
                       describe(p.kind), p.what.empty() ? "" : ": " + p.what);
  }
  if (problems_.size() > listed) out += fmt::format("\n  … and {} more", problems_.size() - listed);
  return out;
}

ReaderOptions ReaderOptions::from(const cir::Params& params) {
  ReaderOptions o;
  o.trial = params.trial();
  o.root = params.get(keys::data::root);
  if (o.root.empty())
    throw Error("no dataset folder given", params.where(keys::data::root),
                "set data.root to the folder you downloaded, or use data.dataset = \"synthetic\"");
  o.layout = params.get(keys::data::layout);
  o.image_size = checked_cast<int>(params.get(keys::data::image_size), params.where(keys::data::image_size));
  o.missing_images = params.get(keys::data::missing_images);
  o.invalid_text = params.get(keys::data::invalid_text);
  o.fashioniq_protocol = params.get(keys::data::fashioniq::protocol);
  o.queries_per_triplet = checked_cast<int>(params.get(keys::data::fashioniq::queries_per_triplet),
                                            params.where(keys::data::fashioniq::queries_per_triplet));
  o.pairs_seed = checked_cast<std::uint64_t>(params.get(keys::data::fashion200k::pairs_seed),
                                             params.where(keys::data::fashion200k::pairs_seed));
  return o;
}

namespace {

[[noreturn]] void no_reader(const std::string& name) {
  throw Error(fmt::format("no reader for dataset '{}'", name), Where{.key = keys::data::dataset.name},
              "use fashioniq, shoes or fashion200k");
}

}  // namespace

Scan scan_dataset(const std::string& name, const ReaderOptions& options) {
  if (name == "fashioniq") return scan_fashioniq(options);
  if (name == "shoes") return scan_shoes(options);
  if (name == "fashion200k") return scan_fashion200k(options);
  no_reader(name);
}

std::string validate_command(const std::string& name, const ReaderOptions& options) {
  std::string command = fmt::format("cir-data validate {} --dataset {}", options.root.string(), name);
  if (name == "fashioniq" && options.layout != "official") command += " --layout " + options.layout;
  if (name == "fashioniq" && options.fashioniq_protocol != "val")
    command += " --protocol " + options.fashioniq_protocol;
  return command;
}

Problems check_index_files(const std::string& name, const ReaderOptions& options) {
  if (name == "fashioniq") return check_fashioniq_files(options);
  if (name == "shoes") return check_shoes_files(options);
  if (name == "fashion200k") return check_fashion200k_files(options);
  no_reader(name);
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
