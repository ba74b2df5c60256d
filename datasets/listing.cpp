#include "datasets/listing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/checked_cast.hpp"
#include "common/error.hpp"
#include "common/keys.hpp"
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

Listing list_dataset(const std::string& name, const ReaderOptions& options) {
  if (name == "fashioniq") return list_fashioniq(options);
  if (name == "shoes") return list_shoes(options);
  if (name == "fashion200k") return list_fashion200k(options);
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

}  // namespace cir::datasets
