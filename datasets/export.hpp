// Writes the synthetic benchmark as real files in a dataset's layout, so the
// real readers run on real files (cir-data export):
//   fashioniq    images/<id>.jpg (training pool) and .png (test pool);
//                captions/cap.<subset>.{train,val}.json,
//                image_splits/split.<subset>.{train,val}.json and the derived
//                captions_pairs/fashion_iq-{train,val}-cap-<subset>.txt, the
//                queries dealt to dress, shirt, toptee in turn;
//   shoes        attributedata/<shape>/<colour>/<id>.jpg,
//                relative_captions_shoes.json, train_im_names.txt, eval_im_names.txt;
//   fashion200k  women/<shape>/<id>.jpg, labels/<shape>_{train,test}_detect_all.txt
//                with captions "small red circle top-left" (images with
//                captions one word apart make the training pairs; twins
//                share a caption, so test queries have several true matches),
//                test_queries.txt from data.synthetic.seed.
// FashionIQ and Shoes keep the labelled target as the one true match of a
// query, as those protocols do.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "datasets/synthetic.hpp"

namespace cir::datasets {

struct ExportSummary {
  std::int64_t images = 0;
  std::int64_t triplets = 0;  // training triplets written (Fashion200k: 0, its reader makes the pairs)
  std::int64_t queries = 0;
};

// `format`: "fashioniq", "shoes" or "fashion200k". Creates `out` and writes
// into it (existing files of the same names are replaced).
ExportSummary export_synthetic(const SyntheticDataset& dataset, const std::string& format,
                               const std::filesystem::path& out);

// The Fashion200k caption of an attribute set: "small red circle top-left".
std::string fashion200k_caption(const Attributes& attributes);

}  // namespace cir::datasets
