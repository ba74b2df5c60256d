#include "launcher/schema.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.hpp"

namespace cir::launcher {

namespace {

using nlohmann::json;

KeySpec boolean(std::string key, bool fallback, std::string meaning) {
  return KeySpec{
      .key = std::move(key), .type = KeyType::boolean, .fallback = fallback, .meaning = std::move(meaning)};
}

KeySpec integer(std::string key, json fallback, std::optional<double> min, std::optional<double> max,
                std::string meaning) {
  return KeySpec{.key = std::move(key),
                 .type = KeyType::integer,
                 .fallback = std::move(fallback),
                 .min = min,
                 .max = max,
                 .meaning = std::move(meaning)};
}

KeySpec number(std::string key, double fallback, std::optional<double> min, std::optional<double> max,
               std::string meaning, bool min_exclusive = false) {
  return KeySpec{.key = std::move(key),
                 .type = KeyType::number,
                 .fallback = fallback,
                 .min = min,
                 .max = max,
                 .min_exclusive = min_exclusive,
                 .meaning = std::move(meaning)};
}

KeySpec string(std::string key, json fallback, std::vector<std::string> choices, std::string meaning) {
  return KeySpec{.key = std::move(key),
                 .type = KeyType::string,
                 .fallback = std::move(fallback),
                 .choices = std::move(choices),
                 .meaning = std::move(meaning)};
}

KeySpec integers(std::string key, json fallback, std::optional<double> min, std::string meaning) {
  return KeySpec{.key = std::move(key),
                 .type = KeyType::integer_list,
                 .fallback = std::move(fallback),
                 .min = min,
                 .meaning = std::move(meaning)};
}

std::vector<KeySpec> make_schema() {
  constexpr std::nullopt_t any = std::nullopt;
  std::vector<KeySpec> keys = {
      // [sweep]
      string("sweep.name", nullptr, {}, "store name: results/<name>.h5"),
      string("sweep.extends", nullptr, {}, "preset path relative to this file (chains allowed)"),
      string("sweep.description", "", {}, "free text"),
      integers("sweep.seeds", json::array({0}), 0, "replicates of every grid point"),
      integer("sweep.ranks_per_trial", 1, 1, any, "ranks of one data-parallel group"),
      string("sweep.store", "", {}, "store path (\"\" = results/<name>.h5)"),
      integer("sweep.max_requeues", 3, 0, any, "Slurm: timeouts after which a sweep stops requeueing"),
      // [data]
      string("data.dataset", "synthetic", {"synthetic", "fashioniq", "shoes", "fashion200k"}, "which reader"),
      string("data.root", "", {}, "dataset folder (${ENV} allowed)"),
      string("data.layout", "official", {"official", "derived"},
             "release layout or the authors' derived text files"),
      integer("data.image_size", 224, 8, any, "network input side (px)"),
      integer("data.workers", 2, 0, any, "loader threads per rank (0 = load on the training thread)"),
      integer("data.prefetch", 4, 1, any, "batches decoded ahead"),
      string("data.missing_images", "error", {"error", "skip"},
             "images a download lacks: stop with the list, or drop what needs them (counts recorded)"),
      string("data.fashioniq.protocol", "val", {"val", "split"},
             "gallery: reference VAL protocol or the whole val image split"),
      integer("data.fashioniq.queries_per_triplet", 2, 1, 2,
              "derived layout: one query per triplet or one per caption order"),
      integer("data.fashion200k.pairs_seed", 0, 0, any, "seed of the one-word-difference training pairs"),
      integer("data.synthetic.seed", 0, 0, any, "generator seed"),
      integer("data.synthetic.attribute_sets", 64, 1, any, "described attribute combinations"),
      integer("data.synthetic.twins", 4, 0, any, "undescribed look-alikes per attribute set"),
      integer("data.synthetic.train_queries", 768, 1, any, "training triplets"),
      integer("data.synthetic.test_queries", 256, 1, any, "evaluation queries"),
      number("data.synthetic.coarse_fraction", 0.5, 0.0, 1.0, "share of coarse (one-to-many) texts"),
      // [model]
      string("model.image.arch", "resnet50", {"resnet18", "resnet50"}, "image encoder"),
      integer("model.image.width", 64, 1, any, "stem width (64 = torchvision; 16 = width/4 preset)"),
      boolean("model.image.layer4_stride1", true, "layer4's first block at stride 1"),
      string("model.image.weights", "", {}, "torchvision-named safetensors file (\"\" = random init)"),
      number("model.norm_scale", 4.0, 0.0, any, "feature scale after L2 normalisation", true),
      integer("model.feature_dim", 512, 1, any, "joint feature width"),
      integer("model.compositor.heads", 8, 1, any, "attention heads"),
      string("model.text.encoder", "roberta", {"roberta", "lstm"}, "text encoder"),
      string("model.text.weights", "", {}, "RoBERTa folder: model.safetensors, vocab.json, merges.txt"),
      integer("model.text.max_length", 64, 1, any, "tokens per caption (cut)"),
      number("model.text.dropout", 0.0, 0.0, 1.0, "dropout after the text Linear (Table 3)"),
      integer("model.lstm.embed", 512, 1, any, "LSTM word embedding width"),
      integer("model.lstm.hidden", 512, 1, any, "LSTM hidden width"),
      integer("model.lstm.min_count", 1, 1, any, "words seen fewer times map to <unk>"),
      // [loss]
      KeySpec{.key = "loss.gamma0",
              .type = KeyType::number,
              .fallback = 1.0,
              .min = 0.0,
              .allow_inf = true,
              .meaning = "gamma = exp(-gamma0*epoch/epochs); inf = baseline"},
      number("loss.w1", 1.0, 0.0, any, "augmenter scale of alpha"),
      number("loss.w2", 1.0, 0.0, any, "augmenter scale of beta"),
      string("loss.augmenter", "reference", {"paper", "reference"}, "augmenter form (docs/paper-notes.md)"),
      string("loss.uncertainty", "reference", {"paper", "reference"}, "L_u form"),
      // [train]
      integer("train.epochs", 60, 1, any, "epochs"),
      integer("train.batch", 32, 1, any, "global batch (divisible by ranks_per_trial)"),
      number("train.lr", 0.04, 0.0, any, "base learning rate", true),
      number("train.momentum", 0.9, 0.0, 1.0, "SGD momentum"),
      number("train.weight_decay", 5e-5, 0.0, any, "SGD weight decay"),
      string("train.schedule", "reference", {"paper", "reference"},
             "step at lr_steps, or warm-up then steps"),
      integers("train.lr_steps", json::array({35, 42}), 0, "epochs at which lr x0.1"),
      integer("train.warmup_epochs", 5, 0, any, "reference warm-up length"),
      number("train.warmup_factor", 0.01, 0.0, 1.0, "warm-up starts at this x lr", true),
      number("train.text_lr_factor", 0.01, 0.0, any, "RoBERTa parameters' lr factor"),
      number("train.clip_grad", 0.0, 0.0, any, "gradient-norm clip (0 = off)"),
      string("train.device", "cpu", {"cpu", "cuda"}, "one GPU per local rank with cuda"),
      integer("train.threads", 0, 0, any, "intra-op threads per rank (0 = cores / local ranks)"),
      integer("train.checkpoint_keep", 2, 1, any, "checkpoints kept per trial"),
      // [eval]
      integer("eval.every", 1, 1, any, "evaluate every N epochs (and at the last)"),
      integers("eval.ks", json::array({1, 10, 50}), 1, "Recall@K reported"),
      integer("eval.batch", 64, 1, any, "feature batch"),
  };
  for (auto& k : keys)
    if (k.key == "sweep.name") k.required = true;
  return keys;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string_view last_part(std::string_view key) {
  const auto dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

std::string format_bound(double v) { return fmt::format("{}", v); }

std::string found(const json& value) {
  if (value.is_boolean()) return fmt::format("the boolean {}", value.dump());
  if (value.is_number_integer()) return fmt::format("the integer {}", value.dump());
  if (value.is_number()) return fmt::format("the number {}", value.dump());
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (s == "inf" || s == "-inf" || s == "nan") return s;
    return fmt::format("the string {}", value.dump());
  }
  if (value.is_array()) return fmt::format("the list {}", value.dump());
  if (value.is_object()) return "a table";
  return "nothing";
}

[[noreturn]] void wrong(const KeySpec& spec, const json& value) {
  throw Error(fmt::format("expected {}, found {}", describe(spec), found(value)));
}

void check_range(const KeySpec& spec, double v, const json& shown) {
  const bool below = spec.min && (spec.min_exclusive ? v <= *spec.min : v < *spec.min);
  const bool above = spec.max && v > *spec.max;
  if (below || above) wrong(spec, shown);
}

}  // namespace

const std::vector<KeySpec>& schema() {
  static const std::vector<KeySpec> keys = make_schema();
  return keys;
}

const KeySpec* find_key(std::string_view key) {
  for (const auto& spec : schema())
    if (spec.key == key) return &spec;
  return nullptr;
}

bool is_training_key(std::string_view key) { return !key.starts_with("sweep."); }

std::string suggest_key(std::string_view unknown) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, unknown.size() / 4) + 1;
  for (const auto& spec : schema()) {
    const std::size_t d = edit_distance(unknown, spec.key);
    if (d < best_distance) best_distance = d, best = spec.key;
  }
  if (!best.empty()) return best;
  // The right name in the wrong table: "train.gamma0" → "loss.gamma0".
  std::vector<std::string> same_name;
  for (const auto& spec : schema())
    if (last_part(spec.key) == last_part(unknown)) same_name.push_back(spec.key);
  return same_name.size() == 1 ? same_name.front() : std::string{};
}

std::string describe(const KeySpec& spec) {
  std::string range;
  if (spec.min && spec.max)
    range = fmt::format(" in [{}, {}]", format_bound(*spec.min), format_bound(*spec.max));
  else if (spec.min)
    range = fmt::format(" {} {}", spec.min_exclusive ? ">" : "≥", format_bound(*spec.min));
  switch (spec.type) {
    case KeyType::boolean:
      return "true or false";
    case KeyType::integer:
      return "an integer" + range;
    case KeyType::number:
      return "a number" + range + (spec.allow_inf ? " or inf" : "");
    case KeyType::string:
      if (spec.choices.empty()) return "a string";
      {
        std::vector<std::string> quoted;
        for (const auto& c : spec.choices) quoted.push_back('"' + c + '"');
        return "one of " + fmt::format("{}", fmt::join(quoted, ", "));
      }
    case KeyType::integer_list:
      return "a list of integers" + range;
  }
  return "a value";
}

json check_value(const KeySpec& spec, const json& value) {
  switch (spec.type) {
    case KeyType::boolean:
      if (!value.is_boolean()) wrong(spec, value);
      return value;
    case KeyType::integer:
      if (!value.is_number_integer()) wrong(spec, value);
      check_range(spec, static_cast<double>(value.get<std::int64_t>()), value);
      return value;
    case KeyType::number:
      if (value.is_string() && value.get_ref<const std::string&>() == "inf" && spec.allow_inf) return value;
      if (!value.is_number()) wrong(spec, value);
      check_range(spec, value.get<double>(), value);
      return json(value.get<double>());
    case KeyType::string:
      if (!value.is_string()) wrong(spec, value);
      if (!spec.choices.empty() &&
          std::find(spec.choices.begin(), spec.choices.end(), value.get<std::string>()) == spec.choices.end())
        wrong(spec, value);
      return value;
    case KeyType::integer_list:
      if (!value.is_array()) wrong(spec, value);
      for (const auto& element : value) {
        if (!element.is_number_integer()) wrong(spec, value);
        check_range(spec, static_cast<double>(element.get<std::int64_t>()), value);
      }
      return value;
  }
  wrong(spec, value);
}

json training_defaults() {
  json out = json::object();
  for (const auto& spec : schema())
    if (is_training_key(spec.key)) out[spec.key] = spec.fallback;
  return out;
}

}  // namespace cir::launcher
