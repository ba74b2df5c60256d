#include "datasets/synthetic.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "common/error.hpp"
#include "common/keys.hpp"
#include "common/rng.hpp"

namespace cir::datasets {
namespace {

constexpr int kCombinations = 4 * 6 * 2 * 4;
constexpr std::uint8_t kRgb[6][3] = {{220, 40, 40},  {40, 170, 60},  {40, 80, 220},
                                     {235, 210, 40}, {150, 60, 190}, {245, 140, 30}};
// Stream numbers (the `a` of CounterRng) inside purpose::synthetic_data.
constexpr std::uint32_t kSetsStream = 0, kTrainQueries = 1, kTestQueries = 2, kTrainPool = 3, kTestPool = 4;

Attributes combination(int c) { return {c % 4, (c / 4) % 6, (c / 24) % 2, c / 48}; }

int attribute(const Attributes& a, int which) {
  switch (which) {
    case 0:
      return a.shape;
    case 1:
      return a.colour;
    case 2:
      return a.size;
    default:
      return a.position;
  }
}

int differences(const Attributes& a, const Attributes& b) {
  int n = 0;
  for (int i = 0; i < 4; ++i) n += attribute(a, i) != attribute(b, i);
  return n;
}

std::string look(const Attributes& a) {
  return fmt::format("{} {} {}", kSizes[a.size], kColours[a.colour], kShapes[a.shape]);
}

std::string coarse_text(int which, const Attributes& from, const Attributes& to) {
  switch (which) {
    case 0:
      return fmt::format("make it a {}", kShapes[to.shape]);
    case 1:
      return fmt::format("make it {}", kColours[to.colour]);
    case 2:
      return to.size > from.size ? "make it bigger" : "make it smaller";
    default:
      return fmt::format("move it to the {}", kPositions[to.position]);
  }
}

class SyntheticImages : public ImageSource {
 public:
  SyntheticImages(std::vector<Instance> instances, int side)
      : instances_(std::move(instances)), side_(side) {}
  std::int64_t size() const override { return static_cast<std::int64_t>(instances_.size()); }
  std::string name(std::int64_t image) const override { return fmt::format("syn{:06d}", image); }
  Decoded load(std::int64_t image, const std::function<double(ImageSize)>& choose_scale) const override {
    choose_scale({side_, side_});
    return {render_instance(instances_.at(image), side_), {side_, side_}, 1.0};
  }

 private:
  std::vector<Instance> instances_;
  int side_;
};

struct Generator {
  const SyntheticOptions& o;
  std::vector<Attributes> sets;
  std::vector<int> set_of_combination;
  std::int64_t pool;

  explicit Generator(const SyntheticOptions& options) : o(options), set_of_combination(kCombinations, -1) {
    CounterRng rng(o.seed, purpose::synthetic_data, kSetsStream);
    const auto order = rng.permutation(kCombinations);
    for (int s = 0; s < o.attribute_sets; ++s) {
      sets.push_back(combination(static_cast<int>(order[s])));
      set_of_combination[order[s]] = s;
    }
    pool = static_cast<std::int64_t>(o.attribute_sets) * o.twins;
  }

  std::vector<Instance> instances() const {
    std::vector<Instance> out;
    for (int test = 0; test < 2; ++test) {
      for (std::int64_t i = 0; i < pool; ++i) {
        const CounterRng rng(o.seed, purpose::synthetic_data, test ? kTestPool : kTrainPool,
                             static_cast<std::uint32_t>(i));
        Instance in;
        in.attribute_set = static_cast<int>(i / o.twins);
        in.attributes = sets[in.attribute_set];
        in.test = test != 0;
        in.background = 0.2f + 0.6f * rng.uniform_at(0);
        in.gradient = 2.0f * std::numbers::pi_v<float> * rng.uniform_at(1);
        in.dx = 0.08f * (rng.uniform_at(2) - 0.5f);
        in.dy = 0.08f * (rng.uniform_at(3) - 0.5f);
        in.size_jitter = 0.9f + 0.2f * rng.uniform_at(4);
        for (int c = 0; c < 3; ++c) in.tint[c] = 0.12f * (rng.uniform_at(5 + c) - 0.5f);
        out.push_back(in);
      }
    }
    return out;
  }

  std::int64_t image_of(bool test, int set, int twin) const {
    return (test ? pool : 0) + static_cast<std::int64_t>(set) * o.twins + twin;
  }

  struct Drawn {
    std::int64_t reference = 0, target = 0;
    TwoCaptions captions;
    bool coarse = false;
    std::vector<int> valid_sets;  // coarse: every set that satisfies the text
  };

  Drawn draw(bool test, std::uint32_t query) const {
    CounterRng rng(o.seed, purpose::synthetic_data, test ? kTestQueries : kTrainQueries, query);
    const bool coarse = rng.next_double() < o.coarse_fraction;
    for (int attempt = 0; attempt < 1000; ++attempt) {
      const int ref_set = static_cast<int>(rng.next_below(sets.size()));
      const int ref_twin = static_cast<int>(rng.next_below(o.twins));
      const Attributes& from = sets[ref_set];
      Drawn d;
      d.reference = image_of(test, ref_set, ref_twin);
      d.coarse = coarse;
      if (!coarse) {
        std::vector<int> candidates;
        for (int s = 0; s < static_cast<int>(sets.size()); ++s) {
          const int n = differences(from, sets[s]);
          if (n >= 1 && n <= 2) candidates.push_back(s);
        }
        if (candidates.empty()) continue;
        const int to_set = candidates[rng.next_below(candidates.size())];
        const Attributes& to = sets[to_set];
        d.target = image_of(test, to_set, static_cast<int>(rng.next_below(o.twins)));
        d.captions = {fmt::format("replace the {} with a {}", look(from), look(to)),
                      fmt::format("put it at the {}", kPositions[to.position])};
        return d;
      }
      // Coarse: every (attribute, new value) with at least one valid set.
      struct Option {
        int which, value;
        std::vector<int> valid;
      };
      std::vector<Option> options;
      for (int which = 0; which < 4; ++which) {
        const int values = which == 0 ? 4 : which == 1 ? 6 : which == 2 ? 2 : 4;
        for (int v = 0; v < values; ++v) {
          if (v == attribute(from, which)) continue;
          Option option{which, v, {}};
          for (int s = 0; s < static_cast<int>(sets.size()); ++s)
            if (attribute(sets[s], which) == v && differences(from, sets[s]) <= 2) option.valid.push_back(s);
          if (!option.valid.empty()) options.push_back(std::move(option));
        }
      }
      if (options.empty()) continue;
      Option& chosen = options[rng.next_below(options.size())];
      const int to_set = chosen.valid[rng.next_below(chosen.valid.size())];
      d.target = image_of(test, to_set, static_cast<int>(rng.next_below(o.twins)));
      d.captions = {coarse_text(chosen.which, from, sets[to_set]), "other details may differ"};
      d.valid_sets = std::move(chosen.valid);
      return d;
    }
    throw Error("the synthetic attribute sets are too sparse to draw a query; use more",
                Where{.key = keys::data::synthetic::attribute_sets.name});
  }
};

// The generator's own limits, narrower than the contract's ranges.
std::int64_t read_within(const cir::Params& params, const keys::IntegerKey& key, std::int64_t lo,
                         std::int64_t hi) {
  const std::int64_t value = params.get(key);
  if (value < lo || value > hi)
    throw Error(fmt::format("{} is out of range [{}, {}]", value, lo, hi), params.where(key));
  return value;
}

}  // namespace

std::string Attributes::describe() const {
  return fmt::format("{} at the {}", look(*this), kPositions[position]);
}

SyntheticOptions SyntheticOptions::from(const cir::Params& params) {
  SyntheticOptions o;
  namespace synthetic = keys::data::synthetic;
  o.seed = static_cast<std::uint64_t>(params.get(synthetic::seed));
  o.attribute_sets = static_cast<int>(read_within(params, synthetic::attribute_sets, 2, kCombinations));
  o.twins = static_cast<int>(read_within(params, synthetic::twins, 1, 100000));
  o.train_queries = static_cast<int>(read_within(params, synthetic::train_queries, 1, 100000000));
  o.test_queries = static_cast<int>(read_within(params, synthetic::test_queries, 1, 100000000));
  o.image_size = static_cast<int>(read_within(params, keys::data::image_size, 8, 4096));
  o.coarse_fraction = params.get(synthetic::coarse_fraction);
  return o;
}

SyntheticDataset::SyntheticDataset(const SyntheticOptions& options, std::shared_ptr<const ImageSource> images,
                                   std::vector<Triplet> training, std::vector<EvalSplit> splits,
                                   std::vector<Instance> instances, std::vector<TwoCaptions> train_captions,
                                   std::vector<TwoCaptions> test_captions, std::vector<bool> coarse_test,
                                   std::vector<std::int64_t> test_targets)
    : Dataset("synthetic", std::move(images), std::move(training), std::move(splits), options.image_size,
              Mirroring::forbidden),
      options_(options),
      instances_(std::move(instances)),
      train_captions_(std::move(train_captions)),
      test_captions_(std::move(test_captions)),
      coarse_test_(std::move(coarse_test)),
      test_targets_(std::move(test_targets)) {}

std::shared_ptr<SyntheticDataset> make_synthetic(const SyntheticOptions& options) {
  const Generator g(options);
  auto instances = g.instances();
  std::vector<Triplet> training;
  std::vector<TwoCaptions> train_captions, test_captions;
  for (int q = 0; q < options.train_queries; ++q) {
    auto d = g.draw(false, static_cast<std::uint32_t>(q));
    training.push_back({d.reference, d.target, d.captions.joined()});
    train_captions.push_back(std::move(d.captions));
  }
  // One split, "test": the gallery is the whole test pool, in image order.
  EvalSplit split;
  split.name = "test";
  for (std::int64_t i = 0; i < g.pool; ++i) split.gallery.push_back(g.pool + i);
  std::vector<bool> coarse;
  std::vector<std::int64_t> targets;
  for (int q = 0; q < options.test_queries; ++q) {
    auto d = g.draw(true, static_cast<std::uint32_t>(q));
    Query query;
    query.reference = d.reference;
    query.caption = d.captions.joined();
    query.exclude = d.reference - g.pool;
    if (d.coarse) {
      for (int s : d.valid_sets)
        for (int k = 0; k < options.twins; ++k) query.true_matches.push_back(g.image_of(true, s, k) - g.pool);
      std::sort(query.true_matches.begin(), query.true_matches.end());
    } else {
      query.true_matches = {d.target - g.pool};
    }
    split.queries.push_back(std::move(query));
    test_captions.push_back(std::move(d.captions));
    coarse.push_back(d.coarse);
    targets.push_back(d.target);
  }
  auto images = std::make_shared<SyntheticImages>(instances, options.image_size);
  return std::make_shared<SyntheticDataset>(options, std::move(images), std::move(training),
                                            std::vector<EvalSplit>{std::move(split)}, std::move(instances),
                                            std::move(train_captions), std::move(test_captions),
                                            std::move(coarse), std::move(targets));
}

Rgb8 render_instance(const Instance& in, int side) {
  Rgb8 img(side, side);
  const Attributes& a = in.attributes;
  const float cx = (a.position % 2 == 0 ? 0.27f : 0.73f) + in.dx;
  const float cy = (a.position < 2 ? 0.27f : 0.73f) + in.dy;
  const float r = (a.size == 0 ? 0.11f : 0.2f) * in.size_jitter;
  float colour[3];
  for (int c = 0; c < 3; ++c) colour[c] = std::clamp(kRgb[a.colour][c] / 255.0f + in.tint[c], 0.0f, 1.0f);
  const float gx = std::cos(in.gradient), gy = std::sin(in.gradient);
  auto inside = [&](float x, float y) {
    const float dx = x - cx, dy = y - cy;
    switch (a.shape) {
      case 0:
        return dx * dx + dy * dy <= r * r;
      case 1:
        return std::max(std::abs(dx), std::abs(dy)) <= 0.85f * r;
      case 2:
        return dy >= -r && dy <= 0.8f * r && std::abs(dx) <= 0.58f * (dy + r);
      default:
        return std::abs(dx) + std::abs(dy) <= 1.15f * r;
    }
  };
  for (int y = 0; y < side; ++y) {
    std::uint8_t* row = img.row(y);
    for (int x = 0; x < side; ++x) {
      const float u = (x + 0.5f) / side, v = (y + 0.5f) / side;
      const float shade = std::clamp(in.background + 0.15f * ((u - 0.5f) * gx + (v - 0.5f) * gy), 0.0f, 1.0f);
      int hits = 0;  // 2 x 2 samples a pixel for smooth edges
      for (int sy = 0; sy < 2; ++sy)
        for (int sx = 0; sx < 2; ++sx)
          hits += inside((x + 0.25f + 0.5f * sx) / side, (y + 0.25f + 0.5f * sy) / side);
      const float cover = hits / 4.0f;
      for (int c = 0; c < 3; ++c)
        row[3 * x + c] =
            static_cast<std::uint8_t>(std::lround(255.0f * (cover * colour[c] + (1 - cover) * shade)));
    }
  }
  return img;
}

}  // namespace cir::datasets
