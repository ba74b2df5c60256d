#include "datasets/export.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/rng.hpp"

namespace cir::datasets {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kSubsets[] = {"dress", "shirt", "toptee"};
// Stream of purpose::synthetic_data for Fashion200k's test queries.
constexpr std::uint32_t kF200kQueries = 5;

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw Error("cannot write the file", Where{.file = path.string()});
}

std::string id(std::int64_t image) { return fmt::format("syn{:06d}", image); }

std::string position_word(int position) {
  std::string p = kPositions[position];
  std::replace(p.begin(), p.end(), ' ', '-');
  return p;
}

// Writes every image of the dataset to out/path_of(image).
template <typename PathOf>
void write_images(const SyntheticDataset& ds, const fs::path& out, PathOf path_of) {
  for (std::int64_t i = 0; i < ds.images().size(); ++i) {
    const fs::path path = out / path_of(i);
    fs::create_directories(path.parent_path());
    const Rgb8 image = render_instance(ds.instances()[i], ds.image_size());
    if (path.extension() == ".png") {
      write_png(path, image);
    } else {
      write_jpeg(path, image);
    }
  }
}

ExportSummary fashioniq(const SyntheticDataset& ds, const fs::path& out) {
  const auto pool = ds.pool_size();
  write_images(ds, out, [&](std::int64_t i) { return "images/" + id(i) + (i < pool ? ".jpg" : ".png"); });
  const auto& split = ds.splits()[0];
  for (int s = 0; s < 3; ++s) {
    const std::string subset = kSubsets[s];
    json train = json::array(), val = json::array(), train_ids = json::array(), val_ids = json::array();
    std::string train_pairs, val_pairs;
    for (std::size_t q = s; q < ds.training().size(); q += 3) {
      const auto& t = ds.training()[q];
      const auto& c = ds.train_captions(q);
      train.push_back(
          {{"candidate", id(t.reference)}, {"target", id(t.target)}, {"captions", {c.first, c.second}}});
      train_pairs += fmt::format("{};{};{}\n{};{};{}\n", id(t.reference), id(t.target), c.first,
                                 id(t.reference), id(t.target), c.second);
    }
    for (std::size_t q = s; q < split.queries.size(); q += 3) {
      const auto& query = split.queries[q];
      const auto& c = ds.test_captions(q);
      const auto labelled = ds.labelled_test_target(q);
      val.push_back(
          {{"candidate", id(query.reference)}, {"target", id(labelled)}, {"captions", {c.first, c.second}}});
      val_pairs += fmt::format("{};{};{}\n{};{};{}\n", id(query.reference), id(labelled), c.first,
                               id(query.reference), id(labelled), c.second);
    }
    for (std::int64_t i = 0; i < pool; ++i) {
      train_ids.push_back(id(i));
      val_ids.push_back(id(pool + i));
    }
    write_text(out / "captions" / fmt::format("cap.{}.train.json", subset), train.dump(1));
    write_text(out / "captions" / fmt::format("cap.{}.val.json", subset), val.dump(1));
    write_text(out / "image_splits" / fmt::format("split.{}.train.json", subset), train_ids.dump());
    write_text(out / "image_splits" / fmt::format("split.{}.val.json", subset), val_ids.dump());
    write_text(out / "captions_pairs" / fmt::format("fashion_iq-train-cap-{}.txt", subset), train_pairs);
    write_text(out / "captions_pairs" / fmt::format("fashion_iq-val-cap-{}.txt", subset), val_pairs);
  }
  return {ds.images().size(), static_cast<std::int64_t>(ds.training().size()),
          static_cast<std::int64_t>(split.queries.size())};
}

ExportSummary shoes(const SyntheticDataset& ds, const fs::path& out) {
  auto path_of = [&](std::int64_t i) {
    const auto& a = ds.instances()[i].attributes;
    return fmt::format("attributedata/{}/{}/{}.jpg", kShapes[a.shape], kColours[a.colour], id(i));
  };
  write_images(ds, out, path_of);
  const auto pool = ds.pool_size();
  std::string train_names, eval_names;
  for (std::int64_t i = 0; i < pool; ++i) {
    train_names += id(i) + ".jpg\n";
    eval_names += id(pool + i) + ".jpg\n";
  }
  json captions = json::array();
  for (const auto& t : ds.training())
    captions.push_back({{"ImageName", id(t.target) + ".jpg"},
                        {"ReferenceImageName", id(t.reference) + ".jpg"},
                        {"RelativeCaption", t.caption}});
  const auto& split = ds.splits()[0];
  for (std::size_t q = 0; q < split.queries.size(); ++q) {
    const auto& query = split.queries[q];
    captions.push_back({{"ImageName", id(ds.labelled_test_target(q)) + ".jpg"},
                        {"ReferenceImageName", id(query.reference) + ".jpg"},
                        {"RelativeCaption", query.caption}});
  }
  write_text(out / "relative_captions_shoes.json", captions.dump(1));
  write_text(out / "train_im_names.txt", train_names);
  write_text(out / "eval_im_names.txt", eval_names);
  return {ds.images().size(), static_cast<std::int64_t>(ds.training().size()),
          static_cast<std::int64_t>(split.queries.size())};
}

ExportSummary fashion200k(const SyntheticDataset& ds, const fs::path& out) {
  auto path_of = [&](std::int64_t i) {
    return fmt::format("women/{}/{}.jpg", kShapes[ds.instances()[i].attributes.shape], id(i));
  };
  write_images(ds, out, path_of);
  const auto pool = ds.pool_size();
  std::map<std::string, std::string> labels;  // file -> lines
  for (std::int64_t i = 0; i < ds.images().size(); ++i) {
    const auto& a = ds.instances()[i].attributes;
    labels[fmt::format("labels/{}_{}_detect_all.txt", kShapes[a.shape], i < pool ? "train" : "test")] +=
        fmt::format("{}\t1.0\t{}\n", path_of(i), fashion200k_caption(a));
  }
  for (const auto& [file, text] : labels) write_text(out / file, text);
  std::string queries;
  std::int64_t written = 0;
  const auto& opt = ds.options();
  for (int q = 0; q < opt.test_queries; ++q) {
    CounterRng rng(opt.seed, purpose::synthetic_data, kF200kQueries, static_cast<std::uint32_t>(q));
    const std::int64_t source = pool + static_cast<std::int64_t>(rng.next_below(pool));
    const auto& a = ds.instances()[source].attributes;
    std::vector<std::int64_t> partners;
    for (std::int64_t j = pool; j < 2 * pool; ++j) {
      const auto& b = ds.instances()[j].attributes;
      const int differ =
          (a.shape != b.shape) + (a.colour != b.colour) + (a.size != b.size) + (a.position != b.position);
      if (differ == 1) partners.push_back(j);
    }
    if (partners.empty()) continue;
    queries += fmt::format("{} {}\n", path_of(source), path_of(partners[rng.next_below(partners.size())]));
    ++written;
  }
  write_text(out / "test_queries.txt", queries);
  return {ds.images().size(), 0, written};
}

}  // namespace

std::string fashion200k_caption(const Attributes& a) {
  return fmt::format("{} {} {} {}", kSizes[a.size], kColours[a.colour], kShapes[a.shape],
                     position_word(a.position));
}

ExportSummary export_synthetic(const SyntheticDataset& dataset, const std::string& format,
                               const fs::path& out) {
  fs::create_directories(out);
  if (format == "fashioniq") return fashioniq(dataset, out);
  if (format == "shoes") return shoes(dataset, out);
  if (format == "fashion200k") return fashion200k(dataset, out);
  throw Error(fmt::format("unknown export format '{}'", format), {}, "use fashioniq, shoes or fashion200k");
}

}  // namespace cir::datasets
