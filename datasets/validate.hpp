// What `cir-data validate` and `cir-data stats` compute.
#pragma once

#include <string>

#include "datasets/readers.hpp"

namespace cir::datasets {

// Every problem of a dataset folder: those the reader finds (missing index
// files and images, malformed entries, empty captions, non-UTF-8 text) and
// every image that exists but does not decode, decoded on `threads` threads.
// Problems come in a fixed order whatever the number of threads.
Problems validate_folder(const std::string& dataset, const ReaderOptions& options, int threads);

// Triplets, gallery and query counts per split, true matches per query,
// caption lengths in words and the Recall@1/10/50 a random ranking would
// score (the chance level of the split): a Markdown-ish text block.
std::string describe_stats(const Dataset& dataset);

}  // namespace cir::datasets
