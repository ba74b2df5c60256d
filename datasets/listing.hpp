// Readers of the real datasets' folders (docs/paper-notes.md "Datasets and their files"),
// in the official release layout and the authors' derived one:
//   FashionIQ   official: captions/cap.<subset>.<split>.json,
//                         image_splits/split.<subset>.<split>.json, images/<id>.png|jpg
//               derived:  captions_pairs/fashion_iq-<split>-cap-<subset>.txt
//                         ("ref;target;caption", two consecutive lines a triplet)
//               text "c1 and c2"; training on the union of dress, shirt and
//               toptee; one evaluation split per subset, gallery by
//               data.fashioniq.protocol ("val": the references and targets of
//               its val triplets; "split": the whole val image split);
//               derived: data.fashioniq.queries_per_triplet samples a
//               triplet (2: both caption orders, in training and evaluation).
//   Shoes       relative_captions_shoes.json, train_im_names.txt,
//               eval_im_names.txt, images anywhere under attributedata/;
//               split "test", gallery = the evaluation images.
//   Fashion200k labels/<category>_<split>_detect_all.txt (path, score,
//               caption, tab-separated), test_queries.txt ("source target");
//               training pairs = images whose captions differ by one word,
//               one pair per training image that has such a partner, drawn
//               from data.fashion200k.pairs_seed, text "replace <a> with <b>";
//               split "test", gallery = all test images, every image with the
//               target's caption a true match.
// Shoes and Fashion200k have one file layout; "derived" reads it too.
//
// A reader lists what a folder's index files name (Listing, without
// LibTorch, so that tests/fuzz/captions_fuzz.cpp fuzzes it in the torch-free
// build) and collects every problem of the folder (missing index files, ids
// that name no image, malformed entries, empty captions, text that is not
// UTF-8, unless data.invalid_text = "replace" reads it as U+FFFD) instead of
// stopping at the first; datasets/readers.hpp makes the listing a Dataset.
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/params.hpp"

namespace cir::datasets {

// (reference image, target image, modification text).
struct Triplet {
  std::int64_t reference = 0, target = 0;
  std::string caption;
};

struct Query {
  std::int64_t reference = 0;  // image number
  std::string caption;
  std::vector<std::int64_t> true_matches;  // gallery positions, sorted, at least one
  std::int64_t exclude = -1;               // gallery position left out of the ranking, or -1
};

struct EvalSplit {
  std::string name;                   // "dress", "test", …: the store's recall split
  std::vector<std::int64_t> gallery;  // image numbers
  std::vector<Query> queries;
  // What data.missing_images = "skip" left out of the split because an
  // image was missing: its protocol has queries.size() + dropped_queries
  // queries (the store's RecallValue::queries_total), and so the gallery.
  std::int64_t dropped_queries = 0, dropped_gallery = 0;
};

// What data.missing_images = "skip" left out of the whole dataset because an
// image was missing (each split counts its own queries and gallery images).
struct Dropped {
  std::int64_t images = 0, triplets = 0;
  bool any() const { return images + triplets > 0; }
};

struct ReaderOptions {
  std::filesystem::path root;
  std::string layout = "official";  // "official" | "derived"
  int image_size = 224;
  std::string missing_images = "error";    // "error" | "skip"
  std::string fashioniq_protocol = "val";  // "val" | "split"
  int queries_per_triplet = 2;
  std::uint64_t pairs_seed = 0;
  std::string invalid_text = "error";  // "error" | "replace"
  std::string trial;                   // for messages

  // From data.root, data.layout, data.image_size, data.missing_images,
  // data.invalid_text, data.fashioniq.*, data.fashion200k.pairs_seed.
  static ReaderOptions from(const cir::Params& params);
};

enum class ProblemKind {
  missing_folder,  // the dataset folder or an image folder
  missing_index,
  unreadable_index,  // there, but cannot be read or parsed as a whole
  missing_image,
  bad_entry,
  bad_text,
  bad_image
};

// "missing folder", "missing index file", …
const char* describe(ProblemKind kind);

struct Problem {
  ProblemKind kind;
  std::string file;  // the file at fault (or the missing image's path)
  int line = 0;      // 1-based, 0 when the file has no lines to speak of
  std::string what;  // more than the kind says; may be empty

  auto operator<=>(const Problem&) const = default;
};

// The problems of a folder, each once (adding one already there does
// nothing), in the order they were found.
class Problems {
 public:
  void add(ProblemKind kind, std::string file, int line, std::string what = {});
  const std::vector<Problem>& all() const { return problems_; }
  bool empty() const { return problems_.empty(); }
  std::size_t count(ProblemKind kind) const;
  // "3 problems: 2 × missing image, 1 × bad entry", then one line a
  // problem ("file:line: kind: what"), the first `listed` of them.
  std::string summary(std::size_t listed) const;

 private:
  std::vector<Problem> problems_;
  std::set<Problem> seen_;
};

// The index files and folders a reader needs before it reads anything,
// checked cheaply (they exist and can be opened; no file is parsed and no
// image opened): one problem for each that is missing or unreadable, or only
// a missing folder when the dataset folder itself is not there. By name:
// "fashioniq", "shoes", "fashion200k".
Problems check_index_files(const std::string& name, const ReaderOptions& options);

// What a reader found in a dataset folder before any image is opened: the
// images its index files name (numbered in order of first mention, paths
// relative to root), which of them are not files, the training triplets and
// evaluation splits over those numbers, and every problem.
struct Listing {
  std::filesystem::path root;
  std::vector<std::string> paths;
  std::vector<bool> missing;  // by image number
  std::vector<Triplet> training;
  std::vector<EvalSplit> splits;
  Problems problems;
};

// The `cir-data validate` command line that checks the folder `options`
// reads as dataset `name`.
std::string validate_command(const std::string& name, const ReaderOptions& options);

// The folder `options` names, listed by the reader of dataset `name`:
// "fashioniq", "shoes", "fashion200k".
Listing list_dataset(const std::string& name, const ReaderOptions& options);

}  // namespace cir::datasets
