// libFuzzer target for the readers of the real datasets' index files
// (datasets/listing.hpp). A small valid folder of each layout is written
// once: FashionIQ official and derived, Shoes, Fashion200k. The first byte
// of an input picks one of their files (low nibble), which the rest of the
// input replaces until the next input, and the reader options (high
// nibble: data.invalid_text = "replace", data.fashion200k.pairs_seed = 1,
// data.fashioniq.protocol = "split", queries_per_triplet = 1). Any bytes
// must give a listing whose captions, image paths and problems are UTF-8
// text (they travel in JSON messages), whose triplets and queries point at
// images and gallery positions that exist, and whose every query has a true
// match: never an exception or a crash.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.hpp"
#include "datasets/listing.hpp"

namespace {

namespace fs = std::filesystem;
using namespace cir::datasets;

struct File {
  const char* dataset;
  const char* folder;  // the dataset's folder under the scratch folder
  const char* layout;
  const char* path;  // relative to the folder
  const char* text;  // its valid content
};

constexpr const char* kFiqCaptions =
    R"([{"candidate": "a", "target": "b", "captions": ["is red", "has long sleeves"]},)"
    "\n"
    R"( {"candidate": "b", "target": "a", "captions": ["is blue", "is shorter"]}])";
constexpr const char* kFiqVal =
    R"([{"candidate": "c", "target": "d", "captions": ["is darker", "no logo"]}])";
constexpr const char* kFiqSplit = R"(["c", "d", "e"])";
constexpr const char* kFiqPairs = "a;b;is red\na;b;has long sleeves\nb;a;is blue\nb;a;is shorter\n";
constexpr const char* kFiqValPairs = "c;d;is darker\nc;d;no logo\n";

// The fuzzed files first (their index is the input's low nibble), then the
// rest of each folder.
constexpr File kFiles[] = {
    {"fashioniq", "fiq", "official", "captions/cap.dress.train.json", kFiqCaptions},
    {"fashioniq", "fiq", "official", "captions/cap.shirt.val.json", kFiqVal},
    {"fashioniq", "fiq", "official", "image_splits/split.toptee.val.json", kFiqSplit},
    {"fashioniq", "fiq_derived", "derived", "captions_pairs/fashion_iq-train-cap-dress.txt", kFiqPairs},
    {"fashioniq", "fiq_derived", "derived", "captions_pairs/fashion_iq-val-cap-shirt.txt", kFiqValPairs},
    {"shoes", "shoes", "official", "relative_captions_shoes.json",
     R"([{"ImageName": "img_2.jpg", "ReferenceImageName": "img_1.jpg", "RelativeCaption": "is more pointed"},)"
     "\n"
     R"( {"ImageName": "img_4.jpg", "ReferenceImageName": "img_3.jpg", "RelativeCaption": "has a heel"}])"},
    {"shoes", "shoes", "official", "train_im_names.txt", "img_1.jpg\nimg_2.jpg\n"},
    {"shoes", "shoes", "official", "eval_im_names.txt", "img_3.jpg\nimg_4.jpg\n"},
    {"fashion200k", "f200k", "official", "labels/dress_train_detect_all.txt",
     "women/dresses/1.jpg\t0.9\tred floral dress\nwomen/dresses/2.jpg\t0.8\tblue floral dress\n"
     "women/dresses/5.jpg\t0.7\tblue floral long dress\n"},
    {"fashion200k", "f200k", "official", "labels/dress_test_detect_all.txt",
     "women/dresses/3.jpg\t0.9\tred lace dress\nwomen/dresses/4.jpg\t0.8\tblack lace dress\n"},
    {"fashion200k", "f200k", "official", "test_queries.txt", "women/dresses/3.jpg women/dresses/4.jpg\n"},
    // Not fuzzed.
    {"fashioniq", "fiq", "official", "captions/cap.shirt.train.json", kFiqCaptions},
    {"fashioniq", "fiq", "official", "captions/cap.toptee.train.json", kFiqCaptions},
    {"fashioniq", "fiq", "official", "captions/cap.dress.val.json", kFiqVal},
    {"fashioniq", "fiq", "official", "captions/cap.toptee.val.json", kFiqVal},
    {"fashioniq", "fiq", "official", "image_splits/split.dress.val.json", kFiqSplit},
    {"fashioniq", "fiq", "official", "image_splits/split.shirt.val.json", kFiqSplit},
    {"fashioniq", "fiq_derived", "derived", "captions_pairs/fashion_iq-train-cap-shirt.txt", kFiqPairs},
    {"fashioniq", "fiq_derived", "derived", "captions_pairs/fashion_iq-train-cap-toptee.txt", kFiqPairs},
    {"fashioniq", "fiq_derived", "derived", "captions_pairs/fashion_iq-val-cap-dress.txt", kFiqValPairs},
    {"fashioniq", "fiq_derived", "derived", "captions_pairs/fashion_iq-val-cap-toptee.txt", kFiqValPairs},
};
constexpr std::size_t kFuzzed = 11;

// The image files the valid folders name (empty: the readers only check
// that they exist), so that only an input can make one missing.
constexpr const char* kImages[] = {
    "fiq/images/a.jpg",
    "fiq/images/b.png",
    "fiq/images/c.jpg",
    "fiq/images/d.jpg",
    "fiq/images/e.png",
    "fiq_derived/images/a.jpg",
    "fiq_derived/images/b.jpg",
    "fiq_derived/images/c.png",
    "fiq_derived/images/d.jpg",
    "shoes/attributedata/womens_flats/0/img_1.jpg",
    "shoes/attributedata/womens_flats/0/img_2.jpg",
    "shoes/attributedata/womens_pumps/1/img_3.jpg",
    "shoes/attributedata/womens_pumps/1/img_4.jpg",
    "f200k/women/dresses/1.jpg",
    "f200k/women/dresses/2.jpg",
    "f200k/women/dresses/3.jpg",
    "f200k/women/dresses/4.jpg",
    "f200k/women/dresses/5.jpg",
};

void write(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The scratch folder of this process, with every dataset folder in it;
// removed when the process ends.
struct Scratch {
  fs::path root;
  Scratch() {
    const char* tmp = std::getenv("TMPDIR");
    root = fs::path(tmp != nullptr ? tmp : "/tmp") / ("cir_captions_fuzz." + std::to_string(::getpid()));
    fs::remove_all(root);
    for (const File& f : kFiles) write(root / f.folder / f.path, f.text);
    for (const char* image : kImages) write(root / image, "");
  }
  ~Scratch() { fs::remove_all(root); }
};

void must_be_text(std::string_view text) {
  if (!cir::valid_utf8(text)) std::abort();
}

void check(const Listing& listing) {
  const auto images = static_cast<std::int64_t>(listing.paths.size());
  if (listing.missing.size() != listing.paths.size()) std::abort();
  for (const auto& path : listing.paths) must_be_text(path);
  auto image = [&](std::int64_t i) {
    if (i < 0 || i >= images) std::abort();
  };
  for (const auto& t : listing.training) {
    image(t.reference);
    image(t.target);
    must_be_text(t.caption);
  }
  for (const auto& split : listing.splits) {
    must_be_text(split.name);
    for (auto g : split.gallery) image(g);
    const auto gallery = static_cast<std::int64_t>(split.gallery.size());
    for (const auto& q : split.queries) {
      image(q.reference);
      must_be_text(q.caption);
      if (q.true_matches.empty() || !std::is_sorted(q.true_matches.begin(), q.true_matches.end()) ||
          q.exclude < -1 || q.exclude >= gallery)
        std::abort();
      for (auto m : q.true_matches)
        if (m < 0 || m >= gallery) std::abort();
    }
  }
  for (const auto& p : listing.problems.all()) {
    must_be_text(p.file);
    must_be_text(p.what);
  }
  must_be_text(listing.problems.summary(listing.problems.all().size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Scratch scratch;
  if (size == 0) return 0;
  const File& file = kFiles[(data[0] & 0x0F) % kFuzzed];
  ReaderOptions o;
  o.root = scratch.root / file.folder;
  o.layout = file.layout;
  o.invalid_text = (data[0] & 0x10) != 0 ? "replace" : "error";
  o.pairs_seed = (data[0] & 0x20) != 0 ? 1 : 0;
  o.fashioniq_protocol = (data[0] & 0x40) != 0 ? "split" : "val";
  o.queries_per_triplet = (data[0] & 0x80) != 0 ? 1 : 2;
  write(o.root / file.path, std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  check(list_dataset(file.dataset, o));
  write(o.root / file.path, file.text);
  return 0;
}
