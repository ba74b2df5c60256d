// The real datasets' folders made Datasets (datasets/dataset.hpp) from what
// their readers list (datasets/listing.hpp, where the layouts are
// described): read_* throw one cir::Error listing every problem, except
// missing images under data.missing_images = "skip", which drop the
// triplets, queries and gallery entries that need them (counted in
// Dataset::dropped()).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "datasets/dataset.hpp"
#include "datasets/listing.hpp"

namespace cir::datasets {

// A dataset read as it is, with its problems; missing images are listed but
// nothing is dropped.
struct Scan {
  std::shared_ptr<Dataset> dataset;
  Problems problems;
  std::vector<bool> missing;  // by image number
};

// By name: "fashioniq", "shoes", "fashion200k".
Scan scan_dataset(const std::string& name, const ReaderOptions& options);

// A scan made ready for training: throws cir::Error listing the problems,
// or drops what needs a missing image under missing_images = "skip".
std::shared_ptr<Dataset> ready_for_training(Scan scan, const ReaderOptions& options);

std::shared_ptr<Dataset> read_fashioniq(const ReaderOptions& options);
std::shared_ptr<Dataset> read_shoes(const ReaderOptions& options);
std::shared_ptr<Dataset> read_fashion200k(const ReaderOptions& options);

}  // namespace cir::datasets
