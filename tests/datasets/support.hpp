// Helpers shared by the datasets tests: a tiny word tokenizer (model/text's
// real ones live elsewhere), trial keys with the schema's defaults, and a
// scratch folder.
#pragma once

#include <unistd.h>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/params.hpp"
#include "model/tokenizer.hpp"

namespace cir::datasets::testing {

// Words split on spaces; id = 3 + a hash of the word; <s> = 0, </s> = 2, pad = 1.
class WordTokenizer : public model::Tokenizer {
 public:
  std::vector<std::int64_t> encode(std::string_view text, std::size_t max_length = 0) const override {
    std::vector<std::int64_t> ids{0};
    std::size_t i = 0;
    while (i < text.size()) {
      const auto j = std::min(text.find(' ', i), text.size());
      if (j > i)
        ids.push_back(3 +
                      static_cast<std::int64_t>(std::hash<std::string_view>{}(text.substr(i, j - i)) % 997));
      i = j + 1;
    }
    ids.push_back(2);
    if (max_length > 0 && ids.size() > max_length) ids.resize(max_length);
    return ids;
  }
  std::int64_t pad_id() const override { return 1; }
  std::size_t vocab_size() const override { return 1000; }
};

// The data/train/eval/model keys the datasets code reads, with the schema's
// defaults, a small synthetic set, and `overrides` on top.
inline cir::Params params(const nlohmann::json& overrides = nlohmann::json::object()) {
  nlohmann::json p = {{"data.dataset", "synthetic"},
                      {"data.root", ""},
                      {"data.layout", "official"},
                      {"data.image_size", 32},
                      {"data.workers", 0},
                      {"data.prefetch", 2},
                      {"data.missing_images", "error"},
                      {"data.fashioniq.protocol", "val"},
                      {"data.fashioniq.queries_per_triplet", 2},
                      {"data.fashion200k.pairs_seed", 0},
                      {"data.synthetic.seed", 0},
                      {"data.synthetic.attribute_sets", 24},
                      {"data.synthetic.twins", 3},
                      {"data.synthetic.train_queries", 48},
                      {"data.synthetic.test_queries", 24},
                      {"data.synthetic.coarse_fraction", 0.5},
                      {"model.text.max_length", 64},
                      {"train.batch", 12},
                      {"eval.batch", 7}};
  for (auto& [k, v] : overrides.items()) p[k] = v;
  return cir::Params(p.dump(), "test");
}

// A fresh folder under the test temp dir, removed when the test ends.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("cir_datasets_" + name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace cir::datasets::testing
