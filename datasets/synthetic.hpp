// The built-in multi-grained benchmark (docs/paper-notes.md "CPU scale and the synthetic benchmark").
//
// An image shows one shape on a shaded background. Its described attributes
// are shape (circle, square, triangle, diamond), colour (red, green, blue,
// yellow, purple, orange), size (small, large) and position (the four
// quadrants); data.synthetic.attribute_sets of the 192 combinations are in
// use. Each attribute set has data.synthetic.twins look-alike images that
// differ only in undescribed details (background shade and gradient, a
// small offset and size change, a slight tint), like the near-identical
// products of the fashion sets.
//
// Training and test images are separate pools with the same attribute sets.
// A query takes a reference image and a modification text:
//   fine   "replace the small red circle with a large blue square" and
//          "put it at the top left": names the target's attribute set; the
//          one true match is the labelled target, hidden among its twins;
//   coarse "make it blue" and "other details may differ": names one
//          changed attribute; every image of every attribute set that has
//          that value and differs from the reference in at most one more
//          attribute is a valid target, and all of them are true matches.
// data.synthetic.coarse_fraction of the queries are coarse. Everything is a
// pure function of data.synthetic.seed; images are rendered on demand at
// data.image_size.
//
// Training images are never mirrored (Mirroring::forbidden): the texts name
// left and right. They keep the reference's random crop: at an area of
// 0.75–1 of the image it always leaves the shape in its quadrant, and the
// largest small shape stays smaller than the smallest large one (radius at
// most 0.14 vs at least 0.18 of the side over 20,000 simulated draws), so
// no text becomes false; it cuts at most about half of a large shape at
// the image edge.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "common/params.hpp"
#include "datasets/dataset.hpp"

namespace cir::datasets {

struct SyntheticOptions {
  std::uint64_t seed = 0;
  int attribute_sets = 64;
  int twins = 4;
  int train_queries = 768;
  int test_queries = 256;
  double coarse_fraction = 0.5;
  int image_size = 64;

  // From data.synthetic.* and data.image_size; throws cir::Error naming the
  // key for values out of range.
  static SyntheticOptions from(const cir::Params& params);
};

inline constexpr std::array<const char*, 4> kShapes = {"circle", "square", "triangle", "diamond"};
inline constexpr std::array<const char*, 6> kColours = {"red", "green", "blue", "yellow", "purple", "orange"};
inline constexpr std::array<const char*, 2> kSizes = {"small", "large"};
inline constexpr std::array<const char*, 4> kPositions = {"top left", "top right", "bottom left",
                                                          "bottom right"};

struct Attributes {
  int shape = 0, colour = 0, size = 0, position = 0;
  bool operator==(const Attributes&) const = default;
  // "small red circle at the top left": the image's full description.
  std::string describe() const;
};

// The undescribed details of one image.
struct Instance {
  Attributes attributes;
  int attribute_set = 0;    // index into the sets in use
  bool test = false;        // test pool (else training pool)
  float background = 0.5f;  // grey level 0–1
  float gradient = 0.0f;    // direction of the background gradient, radians
  float dx = 0, dy = 0;     // offset, fraction of the side
  float size_jitter = 1.0f;
  std::array<float, 3> tint{};  // added to the shape's colour, 0–1 units
};

// A modification text as two captions (FashionIQ's shape: the text is
// "c1 and c2").
struct TwoCaptions {
  std::string first, second;
  std::string joined() const { return first + " and " + second; }
};

class SyntheticDataset : public Dataset {
 public:
  SyntheticDataset(const SyntheticOptions& options, std::shared_ptr<const ImageSource> images,
                   std::vector<Triplet> training, std::vector<EvalSplit> splits,
                   std::vector<Instance> instances, std::vector<TwoCaptions> train_captions,
                   std::vector<TwoCaptions> test_captions, std::vector<bool> coarse_test,
                   std::vector<std::int64_t> test_targets);
  const SyntheticOptions& options() const { return options_; }
  const std::vector<Instance>& instances() const { return instances_; }
  // The two captions of training triplet i / test query i.
  const TwoCaptions& train_captions(std::size_t i) const { return train_captions_.at(i); }
  const TwoCaptions& test_captions(std::size_t i) const { return test_captions_.at(i); }
  bool coarse_test_query(std::size_t i) const { return coarse_test_.at(i); }
  // The image drawn as test query i's target (one of its true matches).
  std::int64_t labelled_test_target(std::size_t i) const { return test_targets_.at(i); }
  // The training pool is images [0, pool), the test pool [pool, 2·pool).
  std::int64_t pool_size() const { return static_cast<std::int64_t>(instances_.size()) / 2; }

 private:
  SyntheticOptions options_;
  std::vector<Instance> instances_;
  std::vector<TwoCaptions> train_captions_, test_captions_;
  std::vector<bool> coarse_test_;
  std::vector<std::int64_t> test_targets_;
};

std::shared_ptr<SyntheticDataset> make_synthetic(const SyntheticOptions& options);

// Renders one instance at side x side.
Rgb8 render_instance(const Instance& instance, int side);

}  // namespace cir::datasets
