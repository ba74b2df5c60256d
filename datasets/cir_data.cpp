// cir-data: make, check and describe datasets.
//   cir-data export --format fashioniq|shoes|fashion200k OUT   (alias: generate)
//   cir-data validate ROOT --dataset NAME
//   cir-data stats [ROOT] --dataset NAME
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/keys.hpp"
#include "common/log.hpp"
#include "datasets/export.hpp"
#include "datasets/readers.hpp"
#include "datasets/synthetic.hpp"
#include "datasets/validate.hpp"

namespace {

using namespace cir::datasets;

// An option's help: the sweep key it stands for and the key's meaning.
std::string help(const cir::keys::Key& key, std::string_view more = {}) {
  return fmt::format("{}: {}{}", key.name, key.doc, more);
}

void add_synthetic_options(CLI::App& app, SyntheticOptions& o) {
  namespace synthetic = cir::keys::data::synthetic;
  o.image_size = 224;
  app.add_option("--seed", o.seed, help(synthetic::seed))->capture_default_str();
  app.add_option("--attribute-sets", o.attribute_sets, help(synthetic::attribute_sets, " (2–192)"))
      ->capture_default_str();
  app.add_option("--twins", o.twins, help(synthetic::twins))->capture_default_str();
  app.add_option("--train-queries", o.train_queries, help(synthetic::train_queries))->capture_default_str();
  app.add_option("--test-queries", o.test_queries, help(synthetic::test_queries))->capture_default_str();
  app.add_option("--coarse-fraction", o.coarse_fraction, help(synthetic::coarse_fraction, " (0–1)"))
      ->capture_default_str();
  app.add_option("--image-size", o.image_size, help(cir::keys::data::image_size))->capture_default_str();
}

// The synthetic options checked as a trial's keys would be.
SyntheticOptions checked(const SyntheticOptions& o) {
  namespace synthetic = cir::keys::data::synthetic;
  const nlohmann::json values = {{synthetic::seed.name, o.seed},
                                 {synthetic::attribute_sets.name, o.attribute_sets},
                                 {synthetic::twins.name, o.twins},
                                 {synthetic::train_queries.name, o.train_queries},
                                 {synthetic::test_queries.name, o.test_queries},
                                 {synthetic::coarse_fraction.name, o.coarse_fraction},
                                 {cir::keys::data::image_size.name, o.image_size}};
  return SyntheticOptions::from(cir::Params(values.dump()));
}

void add_reader_options(CLI::App& app, ReaderOptions& o, std::string& dataset) {
  app.add_option("--dataset", dataset, "fashioniq, shoes or fashion200k")
      ->required()
      ->check(CLI::IsMember({"fashioniq", "shoes", "fashion200k"}));
  app.add_option("--layout", o.layout, "official release layout or the authors' derived one (FashionIQ)")
      ->check(CLI::IsMember({"official", "derived"}))
      ->capture_default_str();
  app.add_option("--protocol", o.fashioniq_protocol,
                 "FashionIQ gallery: val (reference) or split (whole val split)")
      ->check(CLI::IsMember({"val", "split"}))
      ->capture_default_str();
  app.add_option("--queries-per-triplet", o.queries_per_triplet,
                 "FashionIQ derived layout: 1, or 2 (both caption orders)")
      ->check(CLI::IsMember({1, 2}))
      ->capture_default_str();
  app.add_option("--pairs-seed", o.pairs_seed, "Fashion200k: seed of the one-word-difference training pairs")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cir-data: make, check and describe composed-image-retrieval datasets"};
  app.require_subcommand(1);

  SyntheticOptions synthetic;
  std::string format, out;
  auto* exp = app.add_subcommand(
      "export", "write the synthetic benchmark as real image and index files in a dataset's layout");
  exp->alias("generate");
  exp->add_option("--format", format, "fashioniq, shoes or fashion200k")
      ->required()
      ->check(CLI::IsMember({"fashioniq", "shoes", "fashion200k"}));
  exp->add_option("OUT", out, "folder to write (created)")->required();
  add_synthetic_options(*exp, synthetic);

  ReaderOptions reader;
  reader.missing_images = "skip";
  std::string dataset, root;
  int threads = 2;
  std::size_t listed = 0;
  auto* val = app.add_subcommand(
      "validate",
      "check every referenced file and decode every image of a dataset folder; exit 1 if anything is wrong");
  val->add_option("ROOT", root, "the dataset folder")->required();
  add_reader_options(*val, reader, dataset);
  val->add_option("--threads", threads, "decoding threads")->capture_default_str();
  val->add_option("--list", listed, "problems to list (0 = all)")->capture_default_str();

  SyntheticOptions stats_synthetic;
  ReaderOptions stats_reader;
  std::string stats_dataset = "synthetic", stats_root;
  auto* stats =
      app.add_subcommand("stats", "triplets, gallery and query counts, true matches and caption lengths");
  stats->add_option("ROOT", stats_root, "the dataset folder (not for synthetic)");
  stats->add_option("--dataset", stats_dataset, "synthetic, fashioniq, shoes or fashion200k")
      ->check(CLI::IsMember({"synthetic", "fashioniq", "shoes", "fashion200k"}))
      ->capture_default_str();
  stats->add_option("--layout", stats_reader.layout, "official or derived")
      ->check(CLI::IsMember({"official", "derived"}))
      ->capture_default_str();
  stats->add_option("--protocol", stats_reader.fashioniq_protocol, "FashionIQ gallery: val or split")
      ->check(CLI::IsMember({"val", "split"}))
      ->capture_default_str();
  add_synthetic_options(*stats, stats_synthetic);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(cir::ExitCode::usage);
  }

  try {
    if (*exp) {
      const auto ds = make_synthetic(checked(synthetic));
      const auto summary = export_synthetic(*ds, format, out);
      fmt::print("wrote {}: {} images, {} training triplets, {} test queries in the {} layout\n", out,
                 summary.images, format == "fashion200k" ? "(reader-made)" : std::to_string(summary.triplets),
                 summary.queries, format);
      return 0;
    }
    if (*val) {
      reader.root = root;
      const auto problems = validate_folder(dataset, reader, threads);
      if (problems.empty()) {
        fmt::print("{}: no problems ({} layout)\n", root, reader.layout);
        return 0;
      }
      fmt::print("{}\n", problems.summary(listed == 0 ? problems.all().size() : listed));
      return 1;
    }
    if (*stats) {
      if (stats_dataset == "synthetic") {
        fmt::print("{}", describe_stats(*make_synthetic(checked(stats_synthetic))));
      } else {
        if (stats_root.empty())
          throw cir::Error("stats of a dataset folder needs ROOT", {}, "cir-data stats ROOT --dataset NAME");
        stats_reader.root = stats_root;
        stats_reader.image_size = stats_synthetic.image_size;
        fmt::print("{}", describe_stats(
                             *ready_for_training(scan_dataset(stats_dataset, stats_reader), stats_reader)));
      }
      return 0;
    }
  } catch (const cir::Error& e) {
    std::fprintf(stderr, "cir-data: %s\n", e.what());
    return static_cast<int>(e.code());
  }
  return 0;
}
