// Helpers shared by the datasets tests: a tiny word tokenizer (model/text's
// real ones live elsewhere), trial keys with the schema's defaults, and a
// scratch folder.
#pragma once

#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/params.hpp"
#include "datasets/synthetic.hpp"
#include "datasets/transforms.hpp"
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

// Where the shape of a synthetic image lies, as (x, y) fractions of the
// side: the centre of its colour, since the background is grey. `image` is a
// normalised float [3, S, S].
inline std::pair<double, double> shape_centre(const torch::Tensor& image) {
  const auto mean = torch::tensor({kImageNetMean[0], kImageNetMean[1], kImageNetMean[2]}).view({3, 1, 1});
  const auto std = torch::tensor({kImageNetStd[0], kImageNetStd[1], kImageNetStd[2]}).view({3, 1, 1});
  const auto rgb = image * std + mean;
  const auto colour = std::get<0>(rgb.max(0)) - std::get<0>(rgb.min(0));  // [S, S]
  const auto side = image.size(2);
  const auto at = (torch::arange(side, torch::kFloat32) + 0.5) / side;
  const double total = colour.sum().item<double>();
  return {(colour * at.view({1, side})).sum().item<double>() / total,
          (colour * at.view({side, 1})).sum().item<double>() / total};
}

// Whether `image` shows the shape of `attributes` in its quadrant.
inline bool shape_in_its_quadrant(const torch::Tensor& image, const Attributes& attributes) {
  const auto [x, y] = shape_centre(image);
  const bool left = attributes.position % 2 == 0, top = attributes.position < 2;
  return (x < 0.5) == left && (y < 0.5) == top;
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
