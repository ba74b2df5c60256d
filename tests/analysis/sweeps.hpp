// Sweeps with known numbers, one per table layout, shared by the table,
// figure and command-line tests.
#pragma once

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/analysis/fixture.hpp"

namespace cir::analysis::testing {

inline nlohmann::json number(double v) {
  if (std::isinf(v)) return "inf";
  return v;
}

// Recall@1/10/50 of each split.
inline std::vector<RecallValue> recalls(const std::vector<std::string>& splits, double r1, double r10,
                                        double r50) {
  std::vector<RecallValue> out;
  for (const std::string& s : splits) {
    out.push_back({s, 1, r1});
    out.push_back({s, 10, r10});
    out.push_back({s, 50, r50});
  }
  return out;
}

// Five epochs whose best R@10 (epoch 1), best (R@10 + R@50) / 2 (epoch 2)
// and last evaluated epoch (3) differ; epoch 4 is not evaluated.
inline std::vector<EpochRecord> five_epochs(const std::vector<std::string>& splits, double shift,
                                            double bonus) {
  return {
      epoch(0, 3.0 - shift / 10, recalls(splits, 10 + shift, 40 + shift, 70 + shift)),
      epoch(1, 2.0 - shift / 10, recalls(splits, 20 + shift, 50 + shift + bonus, 75 + shift)),
      epoch(2, 1.5 - shift / 10, recalls(splits, 22 + shift, 48 + shift, 80 + shift + bonus)),
      epoch(3, 1.25 - shift / 10, recalls(splits, 15 + shift, 45 + shift, 76 + shift)),
      epoch(4, 1.0 - shift / 10, {}),
  };
}

inline double bonus_of(double gamma0) {
  if (std::isinf(gamma0)) return 0.0;
  if (gamma0 == 0.25) return 0.75;
  if (gamma0 == 0.5) return 1.5;
  return 3.25;
}

// Table 5's shape on Shoes: γ0 ∈ {0.25, 0.5, 1, ∞} × seeds {0, 1, 2};
// γ0 = 0.5 seed 2 failed, γ0 = ∞ seed 2 is still running.
inline std::vector<Planned> gamma0_sweep(const std::string& dataset = "shoes") {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<Planned> out;
  for (double g : {0.25, 0.5, 1.0, inf}) {
    for (int s = 0; s < 3; ++s) {
      Planned p{.params = {{"data.dataset", dataset}, {"loss.gamma0", number(g)}, {"train.epochs", 5}},
                .swept = {"loss.gamma0"},
                .seed = s,
                .epochs = five_epochs({"test"}, s, bonus_of(g))};
      if (g == 0.5 && s == 2) {
        p.status = TrialStatus::failed;
        p.epochs.resize(2);
        p.error = "loss is nan at step 12";
      }
      if (std::isinf(g) && s == 2) {
        p.status = TrialStatus::running;
        p.epochs.resize(2);
      }
      out.push_back(std::move(p));
    }
  }
  return out;
}

// Table 1's shape: FashionIQ, baseline and ours, one seed; subsets differ.
inline std::vector<Planned> fashioniq_sweep() {
  std::vector<Planned> out;
  for (double g : {1.0, std::numeric_limits<double>::infinity()}) {
    Planned p{.params = {{"data.dataset", "fashioniq"}, {"loss.gamma0", number(g)}, {"train.epochs", 2}},
              .swept = {"loss.gamma0"}};
    const double b = std::isinf(g) ? 0.0 : 2.0;
    std::vector<RecallValue> r;
    for (const auto& [split, shift] :
         std::vector<std::pair<std::string, double>>{{"dress", 0}, {"shirt", 1.5}, {"toptee", 4}}) {
      r.push_back({split, 10, 25 + shift + b});
      r.push_back({split, 50, 52 + shift + b});
    }
    p.epochs = {epoch(0, 2.0, r), epoch(1, 1.0, {})};
    out.push_back(std::move(p));
  }
  return out;
}

// What cir-sweep records beside every recall of `split` in `trial`: measured
// on `queries` of the protocol's `queries_total` queries and `gallery` of
// its `gallery_total` gallery images (fewer under data.missing_images =
// "skip"). Without it the counts are 0 of 0, as in a store written before
// cir recorded them.
inline void count(Planned& trial, const std::string& split, std::int64_t queries, std::int64_t queries_total,
                  std::int64_t gallery, std::int64_t gallery_total) {
  for (EpochRecord& e : trial.epochs) {
    for (RecallValue& r : e.recalls) {
      if (r.split != split) continue;
      r.queries = queries;
      r.queries_total = queries_total;
      r.gallery = gallery;
      r.gallery_total = gallery_total;
    }
  }
}

// fashioniq_sweep() with the counts of FashionIQ's val protocol; under
// data.missing_images = "skip" (`shortened`), trial 0 (or each trial when
// `every_trial`) lost 205 dress queries and 73 toptee gallery images.
inline std::vector<Planned> counted_fashioniq_sweep(bool shortened, bool every_trial = true) {
  std::vector<Planned> out = fashioniq_sweep();
  for (std::size_t t = 0; t < out.size(); ++t) {
    const bool cut = shortened && (every_trial || t == 0);
    count(out[t], "dress", cut ? 1812 : 2017, 2017, 3817, 3817);
    count(out[t], "shirt", 2038, 2038, 6346, 6346);
    count(out[t], "toptee", 1961, 1961, cut ? 5300 : 5373, 5373);
  }
  return out;
}

// Table 3's shape: the paper's points (∞, 0), (∞, 0.2), (1, 0) and an
// extra dropout 0.3; (∞, 0.5) is not run.
inline std::vector<Planned> dropout_sweep() {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<Planned> out;
  const std::vector<std::pair<double, double>> points = {{inf, 0.0}, {inf, 0.2}, {1.0, 0.0}, {inf, 0.3}};
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto [g, d] = points[i];
    out.push_back(
        {.params = {{"data.dataset", "shoes"}, {"loss.gamma0", number(g)}, {"model.text.dropout", d}},
         .swept = {"loss.gamma0", "model.text.dropout"},
         .epochs = five_epochs({"test"}, static_cast<double>(i), bonus_of(g))});
  }
  return out;
}

// Table 4's shape: (w1, w2) ∈ {(0.5, 1), (1, 1), (1, 2), (3, 1), (2, 2)}; (2, 2) fits neither half.
inline std::vector<Planned> noise_sweep() {
  std::vector<Planned> out;
  const std::vector<std::pair<double, double>> points = {{0.5, 1}, {1, 1}, {1, 2}, {3, 1}, {2, 2}};
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto [w1, w2] = points[i];
    out.push_back({.params = {{"data.dataset", "shoes"}, {"loss.w1", w1}, {"loss.w2", w2}},
                   .swept = {"loss.w1", "loss.w2"},
                   .epochs = five_epochs({"test"}, static_cast<double>(i), 1.0)});
  }
  return out;
}

// No paper table fits: train.lr × loss.augmenter on two splits (val 2 points above
// test); one trial pending.
inline std::vector<Planned> generic_sweep() {
  std::vector<Planned> out;
  int i = 0;
  for (double lr : {0.01, 0.02}) {
    for (const char* augmenter : {"paper", "reference"}) {
      Planned p{.params = {{"data.dataset", "synthetic"}, {"train.lr", lr}, {"loss.augmenter", augmenter}},
                .swept = {"train.lr", "loss.augmenter"},
                .epochs = five_epochs({"val", "test"}, i, 0.5)};
      for (EpochRecord& e : p.epochs) {
        for (RecallValue& r : e.recalls) r.value += r.split == "val" ? 2.0 : 0.0;
      }
      if (i == 3) {
        p.status = TrialStatus::pending;
        p.epochs.clear();
      }
      out.push_back(std::move(p));
      ++i;
    }
  }
  return out;
}

// The discrepancy sweep's shape (sweeps/synthetic/discrepancy.toml): the
// three switches crossed × seeds {0, 1, 2}; R@10 = 50 + (seed − 1) plus −3
// for the paper's augmenter, +0.5 for its L_u and +2 for its schedule;
// R@50 = R@10 + 25.
inline std::vector<Planned> discrepancy_sweep() {
  std::vector<Planned> out;
  for (const char* augmenter : {"reference", "paper"}) {
    for (const char* uncertainty : {"reference", "paper"}) {
      for (const char* schedule : {"reference", "paper"}) {
        for (int s = 0; s < 3; ++s) {
          const double r10 = 50.0 + (s - 1) + (std::string(augmenter) == "paper" ? -3.0 : 0.0) +
                             (std::string(uncertainty) == "paper" ? 0.5 : 0.0) +
                             (std::string(schedule) == "paper" ? 2.0 : 0.0);
          out.push_back({.params = {{"data.dataset", "synthetic"},
                                    {"loss.augmenter", augmenter},
                                    {"loss.uncertainty", uncertainty},
                                    {"train.schedule", schedule}},
                         .swept = {"loss.augmenter", "loss.uncertainty", "train.schedule"},
                         .seed = s,
                         .epochs = {epoch(0, 2.0, recalls({"test"}, 20.0, r10, r10 + 25.0))}});
        }
      }
    }
  }
  return out;
}

}  // namespace cir::analysis::testing
